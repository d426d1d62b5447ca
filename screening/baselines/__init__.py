"""Personal baselines: which recordings form one and what it holds.

:mod:`.segments` cuts a patient's recordings into phone segments, :mod:`.baseline` chooses a baseline's
recordings and summarises them (both pure Python), :mod:`.planning` decides, for the nightly run, which
recordings need a new baseline and which stored scores' baselines still hold.
"""
