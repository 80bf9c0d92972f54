"""The member page's actions (award, deduct, redeem) as admin views of MembershipAdmin."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from backoffice.member_actions import MEMBER_ACTIONS
from core.errors import DomainError

ADJUST = "backoffice.adjust_stamps"


class MemberActionsAdmin:
    """Mixed into MembershipAdmin (a ScopedModelAdmin: get_object sees one merchant)."""

    change_form_template = "backoffice/membership_change_form.html"

    def get_urls(self) -> list[Any]:
        opts = self.model._meta  # type: ignore[attr-defined]
        views = [
            path(
                f"<path:object_id>/{name}/",
                self.admin_site.admin_view(self.member_action_view),  # type: ignore[attr-defined]
                {"action": name},
                name=f"{opts.app_label}_{opts.model_name}_{name}",
            )
            for name in MEMBER_ACTIONS
        ]
        return views + super().get_urls()  # type: ignore[misc]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra = {**(extra_context or {}), "member_actions": self.action_links(request, object_id)}
        return super().change_view(request, object_id, form_url, extra)  # type: ignore[misc]

    def action_links(self, request: HttpRequest, object_id: str) -> list[tuple[str, str]]:
        if not request.user.has_perm(ADJUST):
            return []
        opts = self.model._meta  # type: ignore[attr-defined]
        return [
            (
                reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=[object_id]),
                form.verb,
            )
            for name, form in MEMBER_ACTIONS.items()
        ]

    def member_action_view(self, request: HttpRequest, object_id: str, action: str) -> Any:
        if not request.user.has_perm(ADJUST):
            raise PermissionDenied
        member = self.get_object(request, object_id)  # type: ignore[attr-defined]
        if member is None:
            raise Http404("No such member.")
        form = MEMBER_ACTIONS[action](
            request.POST if request.method == "POST" else None, request=request, member=member
        )
        if form.is_valid():
            try:
                messages.success(request, form.perform())
            except DomainError as refusal:
                form.add_error(None, refusal.message)
            else:
                opts = self.model._meta  # type: ignore[attr-defined]
                change = f"admin:{opts.app_label}_{opts.model_name}_change"
                return HttpResponseRedirect(reverse(change, args=[member.pk]))
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": self.model._meta,  # type: ignore[attr-defined]
            "original": member,
            "form": form,
            "title": f"{form.verb}: {member}",
        }
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(request, "backoffice/member_action.html", context, status=status)
