"""Contains all the data models used in inputs/outputs"""

from .attachment import Attachment
from .author import Author
from .create_client_parameters import CreateClientParameters
from .create_invite_parameters import CreateInviteParameters
from .create_room_parameters import CreateRoomParameters
from .create_room_parameters_kind import CreateRoomParametersKind
from .created_client import CreatedClient
from .delete_me_parameters import DeleteMeParameters
from .edit_message_parameters import EditMessageParameters
from .error import Error
from .error_errors import ErrorErrors
from .event import Event
from .event_data import EventData
from .filed_report import FiledReport
from .invite import Invite
from .join_request import JoinRequest
from .join_request_status import JoinRequestStatus
from .list_join_requests_status import ListJoinRequestsStatus
from .list_room_members_presence import ListRoomMembersPresence
from .list_rooms_scope import ListRoomsScope
from .listed_member import ListedMember
from .listed_member_role import ListedMemberRole
from .me import Me
from .member import Member
from .member_role import MemberRole
from .message import Message
from .new_invite import NewInvite
from .o_auth_2_error import OAuth2Error
from .oauth_client import OAuthClient
from .pagination_metadata import PaginationMetadata
from .poll import Poll
from .profile import Profile
from .profile_presence import ProfilePresence
from .reaction import Reaction
from .read_marker_parameters import ReadMarkerParameters
from .report import Report
from .report_parameters import ReportParameters
from .room import Room
from .room_kind import RoomKind
from .scheduled_message import ScheduledMessage
from .scheduled_message_status import ScheduledMessageStatus
from .send_message_parameters import SendMessageParameters
from .sign_up_parameters import SignUpParameters
from .ticket import Ticket
from .token import Token
from .token_parameters import TokenParameters
from .token_parameters_token_type_hint import TokenParametersTokenTypeHint
from .token_request_parameters import TokenRequestParameters
from .token_request_parameters_grant_type import TokenRequestParametersGrantType
from .update_me_parameters import UpdateMeParameters
from .update_member_parameters import UpdateMemberParameters
from .update_member_parameters_role import UpdateMemberParametersRole
from .update_room_parameters import UpdateRoomParameters
from .upload_parameters import UploadParameters
from .user import User
from .username_parameters import UsernameParameters

__all__ = (
    "Attachment",
    "Author",
    "CreateClientParameters",
    "CreatedClient",
    "CreateInviteParameters",
    "CreateRoomParameters",
    "CreateRoomParametersKind",
    "DeleteMeParameters",
    "EditMessageParameters",
    "Error",
    "ErrorErrors",
    "Event",
    "EventData",
    "FiledReport",
    "Invite",
    "JoinRequest",
    "JoinRequestStatus",
    "ListedMember",
    "ListedMemberRole",
    "ListJoinRequestsStatus",
    "ListRoomMembersPresence",
    "ListRoomsScope",
    "Me",
    "Member",
    "MemberRole",
    "Message",
    "NewInvite",
    "OAuth2Error",
    "OAuthClient",
    "PaginationMetadata",
    "Poll",
    "Profile",
    "ProfilePresence",
    "Reaction",
    "ReadMarkerParameters",
    "Report",
    "ReportParameters",
    "Room",
    "RoomKind",
    "ScheduledMessage",
    "ScheduledMessageStatus",
    "SendMessageParameters",
    "SignUpParameters",
    "Ticket",
    "Token",
    "TokenParameters",
    "TokenParametersTokenTypeHint",
    "TokenRequestParameters",
    "TokenRequestParametersGrantType",
    "UpdateMemberParameters",
    "UpdateMemberParametersRole",
    "UpdateMeParameters",
    "UpdateRoomParameters",
    "UploadParameters",
    "User",
    "UsernameParameters",
)
