// lift2d3d's clip viewer: the 3D skeletons of a lifted clip, turned with the mouse, beside the 2D keypoints.
// Plain canvas 2D drawing, no library: the page must open offline and stay small (lift2d3d/viewer.py embeds
// this file and the clip's numbers in one HTML page).
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("lift2d3d-data").textContent);
  const nFrames = data.frames.length;
  const nPeople = data.people.length;
  const P = data.joints.length;
  const sideColour = {left: "#0072B2", right: "#D55E00", centre: "#555555"};
  const personShade = [1.0, 0.75, 0.55, 0.4];

  // 3D points: millimetre integers, frame-major [frame][person][joint][xyz]; null = missing.  Shown with Y up:
  // the world frame as it is, the camera frame (y down, z away) turned to (x, -y, -z).
  const flip = data.frame === "camera" ? [1, -1, -1] : [1, 1, 1];
  function point3(f, k, j) {
    const base = ((f * nPeople + k) * P + j) * 3;
    const x = data.xyz[base];
    if (x === null) return null;
    return [flip[0] * x / 1000, flip[1] * data.xyz[base + 1] / 1000, flip[2] * data.xyz[base + 2] / 1000];
  }

  // the scene's extent, for the camera's target and distance and the floor's size
  let lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  for (let f = 0; f < nFrames; f++) for (let k = 0; k < nPeople; k++) for (let j = 0; j < P; j++) {
    const p = point3(f, k, j);
    if (!p) continue;
    for (let a = 0; a < 3; a++) { lo[a] = Math.min(lo[a], p[a]); hi[a] = Math.max(hi[a], p[a]); }
  }
  if (!isFinite(lo[0])) { lo = [-1, 0, -1]; hi = [1, 2, 1]; }
  const floorY = data.frame === "world" ? 0 : lo[1];
  const target = [(lo[0] + hi[0]) / 2, (Math.max(hi[1], floorY) + floorY) / 2, (lo[2] + hi[2]) / 2];
  const extent = Math.max(hi[0] - lo[0], hi[1] - floorY, hi[2] - lo[2], 1.0);

  const view = {yaw: data.frame === "camera" ? 0 : 0.6, pitch: 0.25, distance: 1.8 * extent};
  const canvas3 = document.getElementById("view3d");
  const canvas2 = document.getElementById("view2d");
  const slider = document.getElementById("slider");
  const label = document.getElementById("label");
  const play = document.getElementById("play");
  slider.max = String(Math.max(nFrames - 1, 0));
  let frame = 0, playing = false, draws = 0, last = null, carry = 0;

  function fit(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
    }
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    return [g, w, h];
  }

  // the orbit camera: yaw about Y, pitch above the horizon, a pinhole at `distance` from the target
  function projector(w, h) {
    const cy = Math.cos(view.yaw), sy = Math.sin(view.yaw), cp = Math.cos(view.pitch), sp = Math.sin(view.pitch);
    const focal = 1.2 * Math.min(w, h);
    return function (p) {
      const x = p[0] - target[0], y = p[1] - target[1], z = p[2] - target[2];
      const x1 = cy * x - sy * z, z1 = sy * x + cy * z;           // turn about the vertical
      const y2 = cp * y - sp * z1, z2 = sp * y + cp * z1;          // tilt
      const depth = view.distance - z2;
      if (depth < 0.05) return null;
      return [w / 2 + focal * x1 / depth, h / 2 - focal * y2 / depth];
    };
  }

  function line(g, a, b) { if (a && b) { g.beginPath(); g.moveTo(a[0], a[1]); g.lineTo(b[0], b[1]); g.stroke(); } }

  function draw3d() {
    const [g, w, h] = fit(canvas3);
    g.fillStyle = "#fbfbfb";
    g.fillRect(0, 0, w, h);
    const project = projector(w, h);
    // the floor: a grid of 0.5 m squares (the world frame's floor at Y = 0; the camera frame's lowest point)
    const half = Math.ceil(extent) + 1;
    g.strokeStyle = "#dddddd";
    g.lineWidth = 1;
    for (let i = -2 * half; i <= 2 * half; i++) {
      const u = i / 2;
      line(g, project([target[0] + u, floorY, target[2] - half]), project([target[0] + u, floorY, target[2] + half]));
      line(g, project([target[0] - half, floorY, target[2] + u]), project([target[0] + half, floorY, target[2] + u]));
    }
    for (let k = 0; k < nPeople; k++) {
      g.globalAlpha = personShade[k % personShade.length];
      g.lineWidth = 4;
      data.edges.forEach(function (edge, e) {
        const a = point3(frame, k, edge[0]), b = point3(frame, k, edge[1]);
        g.strokeStyle = sideColour[data.sides[e]];
        line(g, a && project(a), b && project(b));
      });
      for (let j = 0; j < P; j++) {
        const p = point3(frame, k, j);
        const q = p && project(p);
        if (!q) continue;
        g.fillStyle = sideColour[data.joint_sides[j]];
        g.beginPath(); g.arc(q[0], q[1], 4, 0, 2 * Math.PI); g.fill();
      }
    }
    g.globalAlpha = 1;
    g.fillStyle = "#333333";
    g.font = "12px sans-serif";
    g.fillText(data.frame === "world" ? "world frame (Y up, floor at 0; 0.5 m grid)" : "camera frame (0.5 m grid)",
               8, 16);
  }

  function draw2d() {
    if (!canvas2 || !data.keypoints) return;
    const [g, w, h] = fit(canvas2);
    g.fillStyle = "#ffffff";
    g.fillRect(0, 0, w, h);
    const box = data.keypoint_box;                       // [x0, y0, x1, y1] pixels, over the clip
    const scale = 0.9 * Math.min(w / Math.max(box[2] - box[0], 1), h / Math.max(box[3] - box[1], 1));
    const ox = (w - scale * (box[2] - box[0])) / 2, oy = (h - scale * (box[3] - box[1])) / 2;
    const Q = data.keypoint_names.length;
    function point2(k, j) {
      const base = ((frame * nPeople + k) * Q + j) * 2;
      const x = data.keypoints[base];
      if (x === null) return null;
      return [ox + scale * (x / 10 - box[0]), oy + scale * (data.keypoints[base + 1] / 10 - box[1])];
    }
    for (let k = 0; k < nPeople; k++) {
      g.globalAlpha = personShade[k % personShade.length];
      g.lineWidth = 3;
      data.keypoint_edges.forEach(function (edge, e) {
        g.strokeStyle = sideColour[data.keypoint_sides[e]];
        line(g, point2(k, edge[0]), point2(k, edge[1]));
      });
      for (let j = 0; j < Q; j++) {
        const p = point2(k, j);
        if (!p) continue;
        g.fillStyle = "#222222";
        g.beginPath(); g.arc(p[0], p[1], 3, 0, 2 * Math.PI); g.fill();
      }
    }
    g.globalAlpha = 1;
    g.fillStyle = "#333333";
    g.font = "12px sans-serif";
    g.fillText("2D keypoints (pixels, as detected)", 8, 16);
  }

  function render() {
    draw3d();
    draw2d();
    const t = data.frames[frame];
    label.textContent = "frame " + t + " (" + (frame / data.fps).toFixed(2) + " s) \u2014 " + (frame + 1) + " / " +
      nFrames + (data.status ? " \u2014 " + data.status[frame] : "");
    slider.value = String(frame);
    draws += 1;
    api.frame = frame;
    api.draws = draws;
    api.yaw = view.yaw;
    api.pitch = view.pitch;
  }

  function setFrame(f) { frame = Math.max(0, Math.min(nFrames - 1, Math.round(f))); render(); }

  function tick(now) {
    if (!playing) { last = null; return; }
    if (last !== null) {
      carry += (now - last) / 1000 * data.fps;
      const steps = Math.floor(carry);
      if (steps > 0) { carry -= steps; frame = (frame + steps) % nFrames; render(); }
    }
    last = now;
    requestAnimationFrame(tick);
  }

  function toggle() {
    playing = !playing;
    play.textContent = playing ? "\u23f8 pause" : "\u25b6 play";
    if (playing) requestAnimationFrame(tick);
  }

  slider.addEventListener("input", function () { setFrame(Number(slider.value)); });
  play.addEventListener("click", toggle);
  document.addEventListener("keydown", function (event) {
    if (event.key === " ") { toggle(); event.preventDefault(); }
    else if (event.key === "ArrowRight") setFrame(frame + 1);
    else if (event.key === "ArrowLeft") setFrame(frame - 1);
  });
  let drag = null;
  canvas3.addEventListener("pointerdown", function (event) {
    drag = [event.clientX, event.clientY, view.yaw, view.pitch];
    canvas3.setPointerCapture(event.pointerId);
  });
  canvas3.addEventListener("pointermove", function (event) {
    if (!drag) return;
    view.yaw = drag[2] + (event.clientX - drag[0]) * 0.01;
    view.pitch = Math.max(-1.4, Math.min(1.4, drag[3] + (event.clientY - drag[1]) * 0.01));
    render();
  });
  canvas3.addEventListener("pointerup", function () { drag = null; });
  canvas3.addEventListener("wheel", function (event) {
    view.distance = Math.max(0.3 * extent, Math.min(10 * extent, view.distance * Math.exp(event.deltaY * 0.001)));
    render();
    event.preventDefault();
  }, {passive: false});
  window.addEventListener("resize", render);

  const api = {ready: false, frame: 0, draws: 0, frames: nFrames, setFrame: setFrame, toggle: toggle};
  window.lift2d3dViewer = api;
  render();
  api.ready = true;
  document.body.setAttribute("data-ready", "1");
})();
