"""Dashboard tags: `{% expiry_timeline %}`, `{% run_strip connection %}`, acknowledged notices.

Template tags rather than view context so each drops into a page with one line; each costs one
query.
"""

from django import template

from connections import acknowledged, timeline

register = template.Library()


@register.inclusion_tag("connections/_timeline.html")
def expiry_timeline():
    return {"timeline": timeline.expiry_timeline()}


@register.inclusion_tag("connections/_run_strip.html")
def run_strip(connection):
    return {"connection": connection, "runs": timeline.run_strip(connection)}


@register.simple_tag
def acknowledged_notices(connections):
    """`{% acknowledged_notices page.object_list as acks %}`: one query for the whole page."""
    return acknowledged.acknowledged_notices(connections)


@register.filter
def notice_for(connection, notices):
    """`{{ c|notice_for:acks }}`: this row's acknowledged notice, or None."""
    return notices.get(connection.pk)
