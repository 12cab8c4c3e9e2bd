"""Figures for the notebooks (matplotlib): ``poses`` (import, cleaning, features), ``models`` (training,
reconstruction, generated motion), ``codes`` (VQ-MAP), ``motifs`` (segmentation, browsing) and ``hierarchy``
(transitions, trees), ``stats`` (group comparisons); ``gallery`` exports
motif GIFs/MP4s and an HTML summary. Everything is re-exported here: ``bn.plot.<function>``.

The figures floor of the flow (... stats -> evaluate/health/demos -> **plot**/widgets -> export ...): it
draws what the rooms before it compute.
"""

from behavnb.plot.codes import *  # noqa: F401,F403,E402
from behavnb.plot.gallery import *  # noqa: F401,F403,E402
from behavnb.plot.hierarchy import *  # noqa: F401,F403,E402
from behavnb.plot.models import *  # noqa: F401,F403
from behavnb.plot.motifs import *  # noqa: F401,F403,E402
from behavnb.plot.poses import *  # noqa: F401,F403
from behavnb.plot.stats import *  # noqa: F401,F403,E402
