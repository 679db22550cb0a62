#!/usr/bin/env bash
# End-to-end test of the desktop app under Xvfb: start the real binary on the police-van
# exemplar with MobileNetV2, paste snow into the road, paint, rewrite with Ctrl+R through
# real X input (xdotool), take a screenshot, check what the window reports, then kill the
# app and check that a restart offers the autosaved session and restores it.
#
# Needs Xvfb, xdotool, imagemagick (import) and jq. The screenshots go to $ARTIFACTS
# (default /tmp/rulebrush-e2e), never into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${RULEBRUSH_DATA:-$(cd .. && pwd)/shared/data}"
OUT="${ARTIFACTS:-/tmp/rulebrush-e2e}"
mkdir -p "$OUT"
rm -f "$OUT"/rulebrush-e2e*.png "$OUT"/status*.json "$OUT"/app.log
WORK=$(mktemp -d)
STATUS="$WORK/status.json"
APP_PID="" XVFB_PID="" DISPLAY_NUM=""

# stop_app ends the app: SIGTERM, then SIGKILL if it has not exited within 10 s.
stop_app() {
	kill "$APP_PID" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$APP_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$APP_PID" 2>/dev/null; then
		echo "e2e: the app ignored SIGTERM for 10 s; killing it" >&2
		kill -9 "$APP_PID" 2>/dev/null || true
	fi
	wait "$APP_PID" 2>/dev/null || true
}

cleanup() {
	if [ -n "$APP_PID" ]; then
		stop_app
	fi
	if [ -n "$XVFB_PID" ]; then
		kill "$XVFB_PID" 2>/dev/null || true
		wait "$XVFB_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	echo "e2e: FAIL: $*" >&2
	import -display "$DISPLAY_NUM" -window root "$OUT/rulebrush-e2e-failed.png" 2>/dev/null || true
	[ -f "$STATUS" ] && cp "$STATUS" "$OUT/status-failed.json"
	[ -f "$WORK/app.log" ] && cp "$WORK/app.log" "$OUT/app.log"
	exit 1
}

# wait_for SECONDS JQ_EXPR: poll the status file until the jq expression is true.
wait_for() {
	local deadline=$((SECONDS + $1))
	while [ $SECONDS -lt $deadline ]; do
		if [ -f "$STATUS" ] && jq -e "$2" "$STATUS" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	fail "timed out waiting for: $2"
}

go build -o "$WORK/rulebrush" .

# Xvfb picks a free display itself and reports its number on fd 3.
Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3>"$WORK/display" >"$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!
for _ in $(seq 100); do
	[ -s "$WORK/display" ] && break
	sleep 0.1
done
[ -s "$WORK/display" ] || { cat "$WORK/xvfb.log" >&2; echo "e2e: FAIL: Xvfb did not start" >&2; exit 1; }
DISPLAY_NUM=":$(tr -d '[:space:]' <"$WORK/display")"
export DISPLAY="$DISPLAY_NUM"

export XDG_CONFIG_HOME="$WORK/config" RULEBRUSH_E2E_STATUS="$STATUS" LANG=en_US.UTF-8
start_app() {
	"$WORK/rulebrush" --model "$DATA/models/mobilenetv2/model.onnx" --cov-data "$DATA/imagenet-samples" "$@" \
		>>"$WORK/app.log" 2>&1 &
	APP_PID=$!
	xdotool search --sync --onlyvisible --name rulebrush >/dev/null
}

# at X Y: the screen position of image pixel (X, Y) of the shown exemplar.
at() {
	local wx wy
	eval "$(xdotool getwindowgeometry --shell "$(xdotool search --onlyvisible --name rulebrush | head -1)" | grep -E '^(X|Y)=' | sed 's/^/w/')"
	jq -r --argjson x "$1" --argjson y "$2" --argjson wx "$wX" --argjson wy "$wY" \
		'"\((.view.X + $x * .view.Scale + $wx) | floor) \((.view.Y + $y * .view.Scale + $wy) | floor)"' "$STATUS"
}

start_app --image "$DATA/exemplars/police_van.jpg" --texture "$DATA/textures/snow.jpg"
wait_for 60 '.top.original_before | length == 5'
top=$(jq -r '.top.original_before[0].label' "$STATUS")
[ "$top" = "police van" ] || fail "top class of the exemplar is $top"

# Paste snow into the road: the paste tool (T), then a click on the road.
read -r x y < <(at 250 350)
xdotool mousemove "$x" "$y" click 1
sleep 0.5
xdotool key t
sleep 0.5
xdotool mousemove "$x" "$y" click 1
wait_for 10 '.pastes == 1'

# Paint more road with the brush (B): one drag along the kerb.
xdotool key b
read -r x0 y0 < <(at 30 300)
xdotool mousemove "$x0" "$y0" mousedown 1
for ix in $(seq 30 15 470); do
	read -r x y < <(at "$ix" 300)
	xdotool mousemove "$x" "$y"
	sleep 0.02
done
xdotool mouseup 1
wait_for 10 '.history | map(select(startswith("Brush"))) | length == 1'
wait_for 10 '.timings_ms.stroke_end_to_preview != null'
# With the layer's statistics in the disk cache the heatmap is live before any rewrite.
if jq -e '.stats' "$STATUS" >/dev/null; then
	wait_for 10 '.heat == "live" and .edits == 0'
	echo "e2e: live heatmap before the rewrite"
else
	echo "e2e: no cached key statistics yet: the heatmap goes live with the rewrite"
fi

# Rewrite (Ctrl+R); the first run may compute the key statistics over imagenet-samples.
xdotool key ctrl+r
wait_for 300 '.edits == 1 and (.history[-1] | startswith("Rewrite"))'
wait_for 10 '.top.modified_after != .top.modified_before'
wait_for 10 '.stats and .heat == "live"'
# The paste tool (T) shows the paste bar in the screenshot.
xdotool key t
sleep 1
import -window root "$OUT/rulebrush-e2e.png"
cp "$STATUS" "$OUT/status.json"
echo "e2e: history: $(jq -c '.history' "$STATUS")"
echo "e2e: stroke end to preview $(jq '.timings_ms.stroke_end_to_preview' "$STATUS") ms, rewrite $(jq '.timings_ms.rewrite' "$STATUS") ms"

# Undo (Ctrl+Z) takes the rewrite back; redo (Ctrl+Shift+Z) puts it back.
xdotool key ctrl+z
wait_for 10 '.edits == 0'
xdotool key ctrl+shift+z
wait_for 10 '.edits == 1'

# Nothing lost: let the autosave run, kill the app hard, restart: it offers the session.
sleep 4
[ -f "$XDG_CONFIG_HOME/rulebrush/autosave/session.rbsession" ] || fail "no autosave file"
kill -9 "$APP_PID"
wait "$APP_PID" 2>/dev/null || true
rm -f "$STATUS"
start_app
wait_for 30 '.dialog == "Restore session?"'
sleep 1
import -window root "$OUT/rulebrush-e2e-restore.png"
xdotool key Return
wait_for 60 '.edits == 1 and .pastes == 1 and .exemplars == 1'
stop_app

# Painting speed on a 1024x1024 exemplar: one fast drag, ~100 pointer samples a second.
convert "$DATA/exemplars/police_van.jpg" -resize '1024x1024!' "$WORK/big.png"
export XDG_CONFIG_HOME="$WORK/config-big"
rm -f "$STATUS"
start_app --image "$WORK/big.png"
wait_for 60 '.top.original_before | length == 5'
xdotool key b
# One xdotool run sends the whole drag, a sample every 10 ms.
moves=()
for ix in $(seq 40 10 980); do
	read -r x y < <(at "$ix" 700)
	moves+=(mousemove "$x" "$y" sleep 0.01)
done
read -r x0 y0 < <(at 40 700)
xdotool mousemove "$x0" "$y0" mousedown 1 "${moves[@]}" mouseup 1
wait_for 10 '.timings_ms.paint_image_pixels == 1048576 and .timings_ms.stroke_end_to_preview != null'
echo "e2e: painting 1024x1024: $(jq -c '.timings_ms | {paint_samples, paint_samples_per_s, paint_sample_avg_ms, paint_sample_max_ms, stroke_end_to_preview}' "$STATUS")"
cp "$STATUS" "$OUT/status-paint1024.json"
stop_app
APP_PID=""
echo "e2e: ok; screenshots in $OUT"
