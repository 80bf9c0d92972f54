from core.routes import endpoint
from loyalty import apis, member_apis

urlpatterns = [
    endpoint("stamps/add", apis.StampsAddApi, "stamps-add"),
    endpoint("stamps/cancel", apis.StampsCancelApi, "stamps-cancel"),
    endpoint("memberships/deduct-stamps", apis.DeductStampsApi, "deduct-stamps"),
    endpoint("ping", member_apis.PingApi, "ping"),
    endpoint("memberships/status", member_apis.MembershipStatusApi, "memberships-status"),
    endpoint("memberships/register", member_apis.MembershipRegisterApi, "memberships-register"),
    endpoint("v2/memberships/details", member_apis.MembershipDetailsApi, "memberships-details"),
    endpoint("v2/expiration-journals", member_apis.ExpirationJournalsApi, "expiration-journals"),
]
