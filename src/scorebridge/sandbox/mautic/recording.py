"""What Mautic records when something happens to a contact.

One code path for the world loader, the ``/_sandbox/events`` control route, the tracking pixel
and the API's stage/segment/points changes: stats rows, point actions (point-log rows with the
action's type, ``"<id>: <name>"`` event name and ``group_id``; group actions change only the
group score), ``date_modified`` bumps exactly where mautic-api.md §2.1 says (points, stage,
fields; not group scores, segments, DNC or ``last_active``) and ``last_active`` for requests made
by the contact's browser.

Knows nothing about HTTP.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Callable
from typing import Any

from scorebridge.sandbox.mautic.instance import FORM_SEGMENTS, MQL_POINTS
from scorebridge.sandbox.mautic.php import php_serialize
from scorebridge.sandbox.mautic.state import Contact, MauticState, PointAction, Segment
from scorebridge.sandbox.mautic.tables import Row
from scorebridge.sandbox.world import ASSETS, EMAILS, FORMS, PAGES, SITE

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)
EVENT_KINDS = (
    "page.hit", "email.send", "email.open", "email.click", "form.submit", "asset.download",
    "unsubscribe", "bounce", "resubscribe",
)  # fmt: skip
_PAGE_TITLES = {url: key.replace("_", " ").title() for key, url in PAGES.items()}


class Recorder:
    """Records events into one state (keeps per-instance lookups)."""

    def __init__(self, state: MauticState) -> None:
        self.state = state
        self.opens: dict[int, list[dict[str, Any]]] = {}  # email_stats id -> open details
        self.redirects: dict[str, int] = {}
        self._tracking: dict[int, str] = {}
        self._queries: dict[str, str] = {}
        self._matching: dict[tuple[str, Any], list[PointAction]] = {}
        self._actions: dict[str, list[PointAction]] = {}
        self.actions_changed()
        self._handlers: dict[str, Callable[[Contact, str, dict[str, Any]], Row | None]] = {
            kind: getattr(self, "_" + kind.replace(".", "_")) for kind in EVENT_KINDS
        }

    def actions_changed(self) -> None:
        """Point actions were added, edited or deleted: forget what matched what."""
        self._matching.clear()
        self._actions.clear()
        for action in self.state.point_actions.values():
            self._actions.setdefault(action.type, []).append(action)

    # -- contact bookkeeping ---------------------------------------------------------------

    def touch(
        self, contact: Contact, at: str, user: tuple[int | None, str | None] = (None, None)
    ) -> None:
        """A save with entity changes: bump ``date_modified`` (never backwards)."""
        publish = contact.publish
        if publish.date_modified is None or publish.date_modified < at:
            publish.date_modified = at
        publish.modified_by, publish.modified_by_user = user

    def active(self, contact: Contact, at: str) -> None:
        """The contact's browser made a request: ``last_active`` only (no ``date_modified``)."""
        if contact.last_active is None or contact.last_active < at:
            contact.values["last_active"] = at

    def recolor(self, contact: Contact) -> None:
        """Point-trigger colour: the lowest published threshold the contact has reached."""
        color = None
        for trigger in sorted(self.state.triggers.values(), key=lambda t: t.points):
            if trigger.publish.is_published and contact.points >= trigger.points:
                color = trigger.color
                break
        contact.color = color

    def ip(self, contact: Contact) -> int:
        """The contact's (deterministic) IP address id."""
        if not contact.ip_addresses:
            n = contact.id
            contact.ip_addresses.append(f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}")
        return self.state.ip_id(contact.ip_addresses[0])

    def tracking_id(self, contact: Contact) -> str:
        """A stable tracking id per contact (Mautic's device tracking id)."""
        known = self._tracking.get(contact.id)
        if known is None:
            known = hashlib.sha1(f"contact-{contact.id}".encode()).hexdigest()[:23]
            self._tracking[contact.id] = known
        return known

    def adjust_points(
        self, contact: Contact, new_points: int, at: str, user: tuple[int | None, str | None]
    ) -> None:
        """Set the main points (bumps ``date_modified`` when they change) and run campaigns."""
        if new_points == contact.points:
            return
        contact.points = new_points
        self.touch(contact, at, user)
        self.recolor(contact)
        stage = self.state.stages.get(contact.stage_id or 0)
        if stage and stage.name == "Lead" and new_points >= MQL_POINTS:
            mql = next((s for s in self.state.stages.values() if s.name == "MQL"), None)
            if mql:
                self.set_stage(contact, mql.id, at, "Campaign action triggered", user)

    def log_points(
        self,
        contact: Contact,
        at: str,
        *,
        kind: str,
        event_name: str,
        action_name: str,
        delta: int,
        group_id: int | None = None,
        ip_address: str | None = None,
    ) -> Row:
        """A ``lead_points_change_log`` row (``ip_address``: the API caller, else the contact)."""
        ip_id = self.state.ip_id(ip_address) if ip_address else self.ip(contact)
        return self.state.table("lead_points_change_log").insert(
            lead_id=contact.id,
            ip_id=ip_id,
            type=kind,
            event_name=event_name,
            action_name=action_name,
            delta=delta,
            date_added=at,
            group_id=group_id,
        )

    def set_stage(
        self,
        contact: Contact,
        stage_id: int | None,
        at: str,
        action_name: str,
        user: tuple[int | None, str | None] = (None, None),
    ) -> None:
        """Change (or clear) the stage and log it in ``lead_stages_change_log``."""
        stage = self.state.stages.get(stage_id) if stage_id is not None else None
        previous = self.state.stages.get(contact.stage_id or 0)
        if stage_id == contact.stage_id and stage_id is not None:
            return
        contact.stage_id = stage_id
        shown = stage or previous
        self.state.table("lead_stages_change_log").insert(
            lead_id=contact.id,
            stage_id=shown.id if shown else None,
            event_name=f"{shown.id}: {shown.name}" if shown else "",
            action_name=action_name,
            date_added=at,
        )
        self.touch(contact, at, user)

    def add_to_segment(self, contact: Contact, segment: Segment, at: str, manual: bool) -> bool:
        """Add to a segment (``lead_lists_leads``); False when already a member."""
        key = (segment.id, contact.id)
        row = self.state.memberships.get(key)
        if row is not None and not row["manually_removed"]:
            return False
        if row is None:
            row = self.state.table("lead_lists_leads").insert(
                leadlist_id=segment.id, lead_id=contact.id, date_added=at
            )
            self.state.memberships[key] = row
        row.update(manually_added=int(manual), manually_removed=0, date_added=at)
        return True

    def remove_from_segment(self, contact: Contact, segment: Segment, at: str) -> bool:
        """Remove manually (the row stays with ``manually_removed = 1``)."""
        key = (segment.id, contact.id)
        row = self.state.memberships.get(key)
        if row is None:
            row = self.state.table("lead_lists_leads").insert(
                leadlist_id=segment.id, lead_id=contact.id, date_added=at
            )
            self.state.memberships[key] = row
        was_member = not row["manually_removed"]
        row.update(manually_added=0, manually_removed=1)
        return was_member

    # -- point actions ---------------------------------------------------------------------

    def trigger_action(self, contact: Contact, action_type: str, at: str, subject: Any) -> None:
        """Run the published point actions of ``action_type`` matching ``subject`` (the URL of
        ``url.hit``, else the form, asset or e-mail id)."""
        key = (action_type, subject)
        matching = self._matching.get(key)
        if matching is None:  # actions are configuration: what matches a context never changes
            matching = [
                action
                for action in self._actions.get(action_type, ())
                if action.publish.is_published and _matches(action, subject)
            ]
            self._matching[key] = matching
        for action in matching:
            if not action.repeatable:
                if action.id in contact.fired_actions:
                    continue
                contact.fired_actions.add(action.id)
                self.state.table("point_lead_action_log").insert(
                    point_id=action.id, lead_id=contact.id, ip_id=self.ip(contact), date_fired=at
                )
            prefix, _, suffix = action.type.partition(".")
            self.log_points(
                contact,
                at,
                kind=prefix,
                event_name=f"{action.id}: {action.name}",
                action_name=suffix,
                delta=action.delta,
                group_id=action.group_id,
            )
            if action.group_id is not None:
                scores = contact.group_scores
                scores[action.group_id] = scores.get(action.group_id, 0) + action.delta
            else:
                self.adjust_points(contact, contact.points + action.delta, at, (None, None))

    # -- events ----------------------------------------------------------------------------

    def record(self, contact: Contact, kind: str, at: str, attrs: dict[str, Any]) -> Row | None:
        """Record one event of a ``/_sandbox/events`` kind; returns the main row written."""
        handler = self._handlers.get(kind)
        if handler is None:
            raise ValueError(f"unknown event kind {kind!r}; known: {list(EVENT_KINDS)}")
        return handler(contact, at, attrs)

    def _page_hit(self, contact: Contact, at: str, attrs: dict[str, Any]) -> Row:
        url = str(attrs.get("url") or PAGES["home"])
        row = self.state.table("page_hits").insert(
            lead_id=contact.id,
            ip_id=self.ip(contact),
            date_hit=at,
            code=200,
            referer=attrs.get("referer"),
            url=url,
            url_title=attrs.get("title", _PAGE_TITLES.get(url)),
            user_agent=attrs.get("user_agent", DEFAULT_USER_AGENT),
            remote_host=None,
            page_language="en",
            browser_languages='a:1:{i:0;s:5:"en-US";}',
            tracking_id=self.tracking_id(contact),
            query=self._query(url),
        )
        self.active(contact, at)
        self.trigger_action(contact, "url.hit", at, url)
        return row

    def _email_send(self, contact: Contact, at: str, attrs: dict[str, Any]) -> Row:
        return self._new_stat(contact, int(attrs.get("email_id", 1)), at)

    def _new_stat(self, contact: Contact, email_id: int, at: str) -> Row:
        table = self.state.table("email_stats")
        row = table.insert(
            email_id=email_id,
            lead_id=contact.id,
            email_address=contact.values.get("email"),
            date_sent=at,
            is_read=0,
            is_failed=0,
            viewed_in_browser=0,
            retry_count=0,
            source="email",
            source_id=email_id,
            open_count=0,
        )
        row["tracking_hash"] = f"{row['id']:013x}"
        self.trigger_action(contact, "email.send", at, email_id)
        return row

    def _latest_stat(self, contact: Contact, email_id: int) -> Row | None:
        for row in reversed(self.state.table("email_stats").by_lead.get(contact.id, [])):
            if row["email_id"] == email_id:
                return row
        return None

    def _email_open(self, contact: Contact, at: str, attrs: dict[str, Any]) -> Row:
        email_id = int(attrs.get("email_id", 1))
        row = self._latest_stat(contact, email_id) or self._new_stat(contact, email_id, at)
        first = not row["is_read"]
        opens = self.opens.setdefault(row["id"], [])
        opens.append(
            {
                "datetime": at,
                "useragent": attrs.get("user_agent", DEFAULT_USER_AGENT),
                "inBrowser": False,
            }
        )
        row.update(
            is_read=1,
            open_count=row["open_count"] + 1,
            last_opened=at,
            open_details=php_serialize(opens),
        )
        if first:
            row["date_read"] = at
        self.active(contact, at)
        if first:
            self.trigger_action(contact, "email.open", at, email_id)
        return row

    def _email_click(self, contact: Contact, at: str, attrs: dict[str, Any]) -> Row:
        email_id = int(attrs.get("email_id", 1))
        url = str(attrs.get("url") or PAGES["home"])
        redirect = self.redirects.setdefault(url, len(self.redirects) + 1)
        row = self.state.table("page_hits").insert(
            lead_id=contact.id,
            ip_id=self.ip(contact),
            email_id=email_id,
            redirect_id=redirect,
            date_hit=at,
            code=200,
            url=url,
            user_agent=attrs.get("user_agent", DEFAULT_USER_AGENT),
            tracking_id=self.tracking_id(contact),
            source="email",
            source_id=email_id,
            query=php_serialize({"ct": f"email-{email_id}"}),
        )
        self.active(contact, at)
        self.trigger_action(contact, "url.hit", at, url)
        return row

    def _form_submit(self, contact: Contact, at: str, attrs: dict[str, Any]) -> Row:
        form_id = int(attrs.get("form_id", 2))
        row = self.state.table("form_submissions").insert(
            form_id=form_id,
            ip_id=self.ip(contact),
            lead_id=contact.id,
            tracking_id=self.tracking_id(contact),
            date_submitted=at,
            referer=attrs.get("referer", f"{SITE}/forms/{form_id}"),
        )
        self.active(contact, at)
        self.trigger_action(contact, "form.submit", at, form_id)
        alias = FORM_SEGMENTS.get(form_id)
        segment = next((s for s in self.state.segments.values() if s.alias == alias), None)
        if segment is not None:
            self.add_to_segment(contact, segment, at, manual=False)
        return row

    def _asset_download(self, contact: Contact, at: str, attrs: dict[str, Any]) -> Row:
        asset_id = int(attrs.get("asset_id", 1))
        row = self.state.table("asset_downloads").insert(
            asset_id=asset_id,
            ip_id=self.ip(contact),
            lead_id=contact.id,
            date_download=at,
            code=200,
            referer=attrs.get("referer", f"{SITE}/resources"),
            tracking_id=self.tracking_id(contact),
        )
        self.active(contact, at)
        self.trigger_action(contact, "asset.download", at, asset_id)
        return row

    def _unsubscribe(self, contact: Contact, at: str, attrs: dict[str, Any]) -> Row | None:
        return self.add_dnc(contact, at, 1, attrs.get("comments", "User unsubscribed."), attrs)

    def _bounce(self, contact: Contact, at: str, attrs: dict[str, Any]) -> Row | None:
        comments = attrs.get("comments", "550 5.1.1 The email account does not exist.")
        return self.add_dnc(contact, at, 2, comments, attrs)

    def _resubscribe(self, contact: Contact, at: str, attrs: dict[str, Any]) -> None:
        self.remove_dnc(contact, str(attrs.get("channel", "email")))

    def add_dnc(
        self, contact: Contact, at: str, reason: int, comments: str, attrs: dict[str, Any]
    ) -> Row | None:
        """A ``lead_donotcontact`` row (an existing one for the channel is updated instead)."""
        channel = str(attrs.get("channel", "email"))
        table = self.state.table("lead_donotcontact")
        for row in table.by_lead.get(contact.id, []):
            if row["channel"] == channel:
                row.update(reason=reason, comments=comments)
                return row
        email_id = attrs.get("email_id")
        return table.insert(
            lead_id=contact.id,
            date_added=at,
            reason=reason,
            channel=channel,
            channel_id=int(email_id) if email_id is not None else None,
            comments=comments,
        )

    def _query(self, url: str) -> str:
        known = self._queries.get(url)
        if known is None:
            known = php_serialize({"page_url": url})
            self._queries[url] = known
        return known

    def remove_dnc(self, contact: Contact, channel: str) -> bool:
        """Delete the contact's DNC rows for a channel (resubscribe); True when any existed."""
        table = self.state.table("lead_donotcontact")
        gone = [row for row in table.by_lead.get(contact.id, []) if row["channel"] == channel]
        for row in gone:
            table.delete(row)
        return bool(gone)


def _matches(action: PointAction, subject: Any) -> bool:
    properties = action.properties
    if action.type == "url.hit":
        return fnmatch.fnmatchcase(str(subject), properties.get("page_url", ""))
    for key in ("forms", "assets", "emails"):
        if key in properties:
            allowed = properties[key]
            return not allowed or subject in allowed
    return True


#: Titles of the catalogue, for activity labels.
CATALOGUE_TITLES = {"form": FORMS, "asset": ASSETS, "email": EMAILS}
