"""gunicorn settings for the web process (`gunicorn --config python:integration.web.gunicorn_conf`).

The access log carries no secret: the path is logged without its query string (Freshdesk's
documented `?token=` form puts the webhook token there) and without the basic-auth user name
(Freshdesk's basic-auth form sends the token as the user name).
"""
access_log_format = '%(h)s %(l)s - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
