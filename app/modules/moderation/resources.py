"""Reports about users (`/api/v1/users/{id}/reports`, `/api/v1/reports`) and lifting bans.

The per-user routes keep the `users` tag: clients find them beside the profile they concern.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from app.extensions.api import Blueprint, paginate_query, require
from app.extensions.auth import current_user
from app.modules.users import services as users
from app.modules.users.models import User

from . import services
from .models import Report
from .parameters import ReportFilterParameters, ReportParameters
from .permissions import administers
from .schemas import FiledReportSchema, ReportSchema

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Reports about users (administrators)")


@blp.route("/users/<id:user_id>/reports", tags=["users"])
class Reports(MethodView):
    @blp.doc(operationId="reportUser")
    @blp.auth_required("users:write")
    @blp.arguments(ReportParameters, example={"reason": "Spam links", "message_id": 42})
    @blp.resolve("user_id", users.get_active_or_404, into="reported")  # below: a bad body is 400 first
    @blp.response(201, ReportSchema, location=False)  # a report has no URL of its own
    def post(self, args: dict[str, Any], reported: User) -> Report:
        """Report a user; enough distinct reporters stop them posting for a while

        Each reporter counts once; `message_id` must name a message you can see.
        """
        return services.report(current_user, reported, **args)


@blp.route("/users/<id:user_id>/ban", tags=["users"])
class Ban(MethodView):
    @blp.doc(operationId="liftBan")
    @blp.auth_required("users:write")
    @blp.resolve("user_id", users.get_or_404, administers)
    @blp.response(204)
    def delete(self, user: User) -> None:
        """Lift a user's ban now (admins); the reports so far count towards no new ban

        Administrators only.
        """
        services.lift_ban(user)


@blp.route("/reports")
class FiledReports(MethodView):
    @blp.doc(operationId="listReports")
    @blp.auth_required("users:read")
    @blp.arguments(ReportFilterParameters, location="query")
    @blp.response(200, FiledReportSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[Report]:
        """Reports, newest first, optionally about one user (admins)

        Administrators only; paginated with `X-Pagination`.
        """
        require(administers, None)  # reading reports at all is for administrators
        return paginate_query(services.reports_statement(args.get("user_id")), pagination_parameters)
