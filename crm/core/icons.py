"""Inline SVG icons for the navigation and the main actions, drawn here: no icon font, no
third-party set, nothing to download.

Each icon is a few strokes on a 24 × 24 grid in the text's colour (static/css/app.css gives
`.icon` its stroke). An icon is decoration: it is hidden from screen readers, and the words
beside it, shown or visually hidden, name the link or button.
"""

from markupsafe import Markup

# Each shape: its SVG elements, one a line.
_SHAPES = {
    "overview": (
        '<rect x="3" y="3" width="7" height="7" rx="1.5"/>',
        '<rect x="14" y="3" width="7" height="7" rx="1.5"/>',
        '<rect x="3" y="14" width="7" height="7" rx="1.5"/>',
        '<rect x="14" y="14" width="7" height="7" rx="1.5"/>',
    ),
    "enquiries": (
        '<path d="M3 13l2.5-8h13L21 13v6H3z"/>',
        '<path d="M3 13h5l1.5 2.5h5L16 13h5"/>',
    ),
    "activities": (
        '<rect x="3" y="5" width="18" height="16" rx="2"/>',
        '<path d="M3 10h18M8 3v4M16 3v4"/>',
    ),
    "tasks": (
        '<rect x="3" y="3" width="18" height="18" rx="2"/>',
        '<path d="M8 12.5l3 3 5-6"/>',
    ),
    "organisations": (
        '<path d="M4 21V4h10v17M14 9h6v12M2 21h20"/>',
        '<path d="M7.5 8h3M7.5 12h3M7.5 16h3M17 13v0M17 17v0"/>',
    ),
    "contacts": (
        '<circle cx="12" cy="8" r="4"/>',
        '<path d="M4 21c1-4.5 4.2-6.5 8-6.5s7 2 8 6.5"/>',
    ),
    "agreements": (
        '<path d="M6 3h9l4 4v14H6z"/>',
        '<path d="M15 3v4h4M9 12h7M9 16h4"/>',
    ),
    "documents": (
        '<path d="M3 6.5A1.5 1.5 0 0 1 4.5 5H9l2 2.5h8.5A1.5 1.5 0 0 1 21'
        ' 9v9.5a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 18.5z"/>',
    ),
    "reports": ('<path d="M4 20h16M7 16v-5M12 16V6M17 16v-8"/>',),
    "mail": (
        '<rect x="3" y="5" width="18" height="14" rx="2"/>',
        '<path d="M3.5 6.5l8.5 6.5 8.5-6.5"/>',
    ),
    "users": (
        '<circle cx="9" cy="8.5" r="3.5"/>',
        '<path d="M2.5 20c.8-3.8 3.3-5.5 6.5-5.5s5.7 1.7 6.5 5.5"/>',
        '<path d="M15.5 5.2a3.5 3.5 0 0 1 0 6.6M18 14.8c1.8.8 3 2.5 3.5 5.2"/>',
    ),
    "settings": (
        '<path d="M4 6h9M17 6h3M4 12h3M11 12h9M4 18h11M19 18h1"/>',
        '<circle cx="15" cy="6" r="2"/>',
        '<circle cx="9" cy="12" r="2"/>',
        '<circle cx="17" cy="18" r="2"/>',
    ),
    "key": (
        '<circle cx="8" cy="15" r="4"/>',
        '<path d="M11 12l9-9M16.5 6.5l2.5 2.5M14 9l2 2"/>',
    ),
    "privacy": (
        '<path d="M12 3l8 3v5.5c0 4.8-3.4 8.3-8 9.5-4.6-1.2-8-4.7-8-9.5V6z"/>',
        '<path d="M9 12l2 2 4-4"/>',
    ),
    "outbox": (
        '<path d="M12 15V4M8 8l4-4 4 4"/>',
        '<path d="M4 14v5a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-5"/>',
    ),
    "webhooks": (
        '<circle cx="12" cy="6" r="3"/>',
        '<circle cx="5.5" cy="17.5" r="3"/>',
        '<circle cx="18.5" cy="17.5" r="3"/>',
        '<path d="M10.5 8.6L7 14.9M13.5 8.6l3.5 6.3M8.5 17.5h7"/>',
    ),
    "search": (
        '<circle cx="11" cy="11" r="6.5"/>',
        '<path d="M16 16l4.5 4.5"/>',
    ),
    "bell": (
        '<path d="M6 16.5V11a6 6 0 0 1 12 0v5.5l1.5 2h-15z"/>',
        '<path d="M10 21h4"/>',
    ),
    "menu": ('<path d="M4 7h16M4 12h16M4 17h16"/>',),
    "plus": ('<path d="M12 5v14M5 12h14"/>',),
    "board": (
        '<rect x="3" y="4" width="5" height="16" rx="1"/>',
        '<rect x="10" y="4" width="5" height="11" rx="1"/>',
        '<rect x="17" y="4" width="4" height="7" rx="1"/>',
    ),
    "list": ('<path d="M9 6h11M9 12h11M9 18h11M4.5 6v0M4.5 12v0M4.5 18v0"/>',),
    "download": ('<path d="M12 4v11M7.5 10.5L12 15l4.5-4.5M4 20h16"/>',),
    "upload": ('<path d="M12 15V4M7.5 8.5L12 4l4.5 4.5M4 20h16"/>',),
    "edit": (
        '<path d="M4 20l1-4.5L15.5 5a2.1 2.1 0 0 1 3 3L8 18.5z"/>',
        '<path d="M13.5 7l3 3"/>',
    ),
    "sign-out": ('<path d="M14 4h4a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-4M10 8l-4 4 4 4M6 12h10"/>',),
    "language": (
        '<circle cx="12" cy="12" r="9"/>',
        '<path d="M3 12h18M12 3c2.5 2.5 3.7 5.5 3.7 9s-1.2 6.5-3.7'
        ' 9c-2.5-2.5-3.7-5.5-3.7-9S9.5 5.5 12 3z"/>',
    ),
}

NAMES = frozenset(_SHAPES)


def icon(name):
    """The icon called `name` as inline SVG, hidden from assistive technology."""
    elements = "".join(_SHAPES[name])
    # The shapes are this module's own constants, never anything a user typed.
    return Markup(  # noqa: S704
        '<svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"'
        f' focusable="false">{elements}</svg>'
    )
