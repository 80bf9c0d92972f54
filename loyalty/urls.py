from loyalty import apis
from stamps_server.routes import endpoint

urlpatterns = [
    endpoint("stamps/add", apis.StampsAddApi, "stamps-add"),
    endpoint("stamps/cancel", apis.StampsCancelApi, "stamps-cancel"),
    endpoint("memberships/deduct-stamps", apis.DeductStampsApi, "deduct-stamps"),
]
