"""The API's routers, one per concern (FastAPI "bigger applications" layout)."""
