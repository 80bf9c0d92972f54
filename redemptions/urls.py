from redemptions import apis
from stamps_server.routes import endpoint

urlpatterns = [
    endpoint("redemptions/add", apis.RedemptionsAddApi, "redemptions-add"),
]
