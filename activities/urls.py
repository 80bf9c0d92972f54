from activities import apis
from core.routes import endpoint

urlpatterns = [
    endpoint("v3/activities", apis.ActivitiesApi, "activities"),
]
