"""What both sandboxes share: a threaded HTTP server with fault injection and a control route."""
