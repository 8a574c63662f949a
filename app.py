"""Calltrack: the Chalice app. Routes live in blueprints beside the domain they serve;
this file wires middleware and registers them."""
from chalice import Chalice, ConvertToMiddleware

from chalicelib import auth, web
from chalicelib.admin.api import bp as admin_api
from chalicelib.calls.api import bp as calls_api
from chalicelib.calls.schedule import bp as calls_sweeper
from chalicelib.dni.advisor_api import bp as advisor_api
from chalicelib.dni.api import bp as dni_api
from chalicelib.integrations.api import bp as integrations_api
from chalicelib.integrations.exports_api import bp as exports_api
from chalicelib.observability import logger, metrics
from chalicelib.people.api import bp as people_api
from chalicelib.reports.api import bp as reports_api
from chalicelib.streams import bp as streams

app = Chalice(app_name="calltrack")
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context(clear_state=True)))
app.register_middleware(ConvertToMiddleware(metrics.log_metrics))
app.register_middleware(web.error_middleware, "http")
app.register_middleware(auth.middleware, "http")   # inside the error middleware: its refusals are shaped

app.register_blueprint(dni_api)
app.register_blueprint(calls_api)
app.register_blueprint(calls_sweeper)
app.register_blueprint(admin_api)
app.register_blueprint(reports_api)
app.register_blueprint(integrations_api)
app.register_blueprint(exports_api)
app.register_blueprint(advisor_api)
app.register_blueprint(people_api)
app.register_blueprint(streams)
