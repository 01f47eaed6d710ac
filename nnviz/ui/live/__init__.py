"""The live view as one subsystem: what updates while the networks train.

- pacing.py: every timing and resolution constant of the live view, in one documented object;
- view.py: the Compare tab's boundaries and curves as fragments, the streaming loop, the first
  paint, and the one decision "stream frames over the websocket, or fall back to a fragment run per
  frame" (``stream_channel``);
- route.py: the websocket route (mounted by serve.py) and the per-session Channel it serves.
The chart component the frames update is nnviz/ui/charts.py with charts.js.
"""
