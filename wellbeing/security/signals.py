"""What security announces, for the areas above it to follow (security knows no area).

    break_glass_opened.connect(receiver)   # receiver(grant, user=, student=, purpose=)

`break_glass_opened` is sent when an administrator has opened a student's record by
break-glass, inside the request's transaction (the grant is flushed): the notifications
tell the school's counselors, and what they write commits or rolls back with the grant."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()
break_glass_opened = _signals.signal("break-glass-opened")
