# expect: forbidden_access
"""metrics.json as a FIFO."""
honest_outputs()
os.remove("metrics.json")
os.mkfifo("metrics.json")
