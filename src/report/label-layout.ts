/**
 * Text labels beside points that do not print over each other. Vega-lite has no label collision
 * avoidance, so a panel with explicit domains and a known size places its labels itself: each label
 * starts right of its point (left of it when it would leave the frame) and moves up or down in
 * steps of one line until it overlaps no label placed before it and no point.
 */

interface LabelAnchor {
  x: number;
  y: number;
  text: string;
}

interface PlacedLabel {
  /** Data x of the label's left edge. */
  x: number;
  /** Data y of the label's baseline middle (the text mark uses baseline "middle"). */
  y: number;
  text: string;
}

interface Frame {
  xDomain: [number, number];
  yDomain: [number, number];
  width: number;
  height: number;
  fontSize: number;
}

/** DejaVu Sans averages ~0.62 em per character for the capitals and digits labels hold. */
const CHAR_EM = 0.62;
/** Pixels between a point's centre and its label. */
const GAP_PX = 9;
/** Half the size of a point marker (size 110 is ~10.5 px across), kept clear of labels. */
const POINT_HALF_PX = 6;

interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const overlaps = (a: Box, b: Box): boolean => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

export function placeLabels(anchors: LabelAnchor[], points: { x: number; y: number }[], f: Frame): PlacedLabel[] {
  const [x0, x1] = f.xDomain;
  const [y0, y1] = f.yDomain;
  const px = (x: number) => ((x - x0) / (x1 - x0 || 1)) * f.width;
  const py = (y: number) => (1 - (y - y0) / (y1 - y0 || 1)) * f.height;
  const lineHeight = f.fontSize + 3;
  const taken: Box[] = points.map((p) => ({ left: px(p.x) - POINT_HALF_PX, right: px(p.x) + POINT_HALF_PX, top: py(p.y) - POINT_HALF_PX, bottom: py(p.y) + POINT_HALF_PX }));
  const order = anchors.map((a, i) => ({ a, i })).sort((p, q) => py(p.a.y) - py(q.a.y) || px(p.a.x) - px(q.a.x));
  const placed: PlacedLabel[] = new Array<PlacedLabel>(anchors.length);
  for (const { a, i } of order) {
    const w = a.text.length * f.fontSize * CHAR_EM;
    const right = px(a.x) + GAP_PX + w <= f.width;
    const left = right ? px(a.x) + GAP_PX : Math.max(0, px(a.x) - GAP_PX - w);
    const boxAt = (mid: number): Box => ({ left, right: left + w, top: mid - lineHeight / 2, bottom: mid + lineHeight / 2 });
    const inFrame = (b: Box) => b.top >= 0 && b.bottom <= f.height;
    let mid = py(a.y);
    // Nearest free line first: 0, -1, +1, -2, +2, ... lines away, within the frame.
    for (let step = 0; step < 40; step++) {
      const k = step === 0 ? 0 : (step % 2 === 1 ? -1 : 1) * Math.ceil(step / 2);
      const candidate = boxAt(py(a.y) + k * lineHeight);
      if (inFrame(candidate) && !taken.some((b) => overlaps(b, candidate))) {
        mid = py(a.y) + k * lineHeight;
        break;
      }
    }
    const box = boxAt(mid);
    taken.push(box);
    placed[i] = { x: x0 + (box.left / f.width) * (x1 - x0), y: y0 + (1 - mid / f.height) * (y1 - y0), text: a.text };
  }
  return placed;
}
