-- wrk script for bench/http_bench.sh: prints the run's results as key=value lines (latencies in
-- microseconds). It only defines done(), so wrk keeps sending its static request at full speed.
done = function(summary, latency, requests)
  local errors = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format("requests=%d\n", summary.requests))
  io.write(string.format("elapsed_s=%.3f\n", seconds))
  io.write(string.format("rps=%.1f\n", summary.requests / seconds))
  for _, percent in ipairs({ 50, 90, 99 }) do
    io.write(string.format("p%d_us=%d\n", percent, latency:percentile(percent)))
  end
  io.write(string.format("max_us=%d\n", latency.max))
  io.write(string.format("errors=%d\n",
    errors.connect + errors.read + errors.write + errors.status + errors.timeout))
  io.write(string.format("errors_detail=connect:%d,read:%d,write:%d,status:%d,timeout:%d\n",
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
