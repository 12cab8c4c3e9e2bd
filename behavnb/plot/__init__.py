"""Figures for the notebooks (matplotlib): ``poses`` (import, cleaning, features) and ``models`` (training,
reconstruction, generated motion). Everything is re-exported here: ``bn.plot.<function>``.
"""

from behavnb.plot.models import *  # noqa: F401,F403
from behavnb.plot.poses import *  # noqa: F401,F403
from behavnb.plot.codes import *  # noqa: F401,F403,E402
