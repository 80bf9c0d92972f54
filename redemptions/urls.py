from core.routes import endpoint
from redemptions import apis, reward_apis

urlpatterns = [
    endpoint("redemptions/add", apis.RedemptionsAddApi, "redemptions-add"),
    endpoint("redemptions/cancel", apis.RedemptionsCancelApi, "redemptions-cancel"),
    endpoint("rewards", reward_apis.RewardsApi, "rewards"),
]
