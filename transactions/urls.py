from core.routes import endpoint
from transactions import apis

urlpatterns = [
    endpoint("transactions/add", apis.TransactionsAddApi, "transactions-add"),
    endpoint("transactions/cancel", apis.TransactionsCancelApi, "transactions-cancel"),
]
