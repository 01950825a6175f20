"""HTTP and WebSocket routes: validate, authorise, delegate."""
