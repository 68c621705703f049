"""Reports about users (`/api/v1/users/{id}/reports`, `/api/v1/reports`) and lifting bans.

The per-user routes keep the `users` tag: clients find them beside the profile they concern.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from app.extensions.api import Blueprint, abort, paginate_query
from app.extensions.auth import current_user
from app.modules.users import services as users

from . import services
from .models import Report
from .parameters import ReportFilterParameters, ReportParameters
from .permissions import require_admin
from .schemas import FiledReportSchema, ReportSchema

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Reports about users (administrators)")


@blp.route("/users/<id:user_id>/reports", tags=["users"])
class Reports(MethodView):
    @blp.doc(operationId="reportUser")
    @blp.auth_required("users:write")
    @blp.arguments(ReportParameters, example={"reason": "Spam links", "message_id": 42})
    @blp.response(201, ReportSchema, location=False)  # a report has no URL of its own
    def post(self, args: dict[str, Any], user_id: int) -> Report:
        """Report a user; enough distinct reporters stop them posting for a while

        Each reporter counts once; `message_id` must name a message you can see.
        """
        reported = users.get_or_404(user_id)
        if reported.is_deleted:
            abort(404, "No such user.")
        return services.report(current_user, reported, **args)


@blp.route("/users/<id:user_id>/ban", tags=["users"])
class Ban(MethodView):
    @blp.doc(operationId="liftBan")
    @blp.auth_required("users:write")
    @blp.response(204)
    def delete(self, user_id: int) -> None:
        """Lift a user's ban now (admins); the reports so far count towards no new ban

        Administrators only.
        """
        require_admin(current_user)
        services.lift_ban(users.get_or_404(user_id))


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
        require_admin(current_user)
        return paginate_query(services.reports_statement(args.get("user_id")), pagination_parameters)
