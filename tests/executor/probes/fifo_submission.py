# expect: forbidden_access
"""submission.csv as a FIFO: a driver that opened it would block forever (or read whatever a
leftover writer feeds it)."""
honest_outputs()
os.remove("submission.csv")
os.mkfifo("submission.csv")
