# The "sleep" client workload of meshd's demo mesh (samples/README.md): it serves nothing and only
# waits, so the mesh has a workload identity (labels app=sleep, its service account) and a
# sidecar that `meshctl exec sleep -- curl ...` runs commands behind. SIGTERM or SIGINT ends it
# with exit code 0.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import sample_http  # noqa: E402

if __name__ == "__main__":
    sys.exit(sample_http.run_until_signalled(
        lambda: sample_http.log_line("sleep waiting for SIGTERM"),
        lambda: sample_http.log_line("sleep stopped")))
