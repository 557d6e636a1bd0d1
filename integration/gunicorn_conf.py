"""gunicorn settings for the web process (`gunicorn --config python:integration.gunicorn_conf`).

The access log names the path without its query string: Freshdesk's documented `?token=` form
carries the webhook secret there, and no secret may reach a log line.
"""
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
