// Preloaded into a child process (`node --import …`) to give it a skewed clock: `Date.now()` runs
// EDGE_HA_TEST_CLOCK_OFFSET_MS ahead (behind when negative) of the machine's. edge-ha's real clock
// reads `Date.now()`, so the process stamps, heartbeats and measures skew with the skewed time.
const offset = Number(process.env.EDGE_HA_TEST_CLOCK_OFFSET_MS ?? 0);
if (!Number.isFinite(offset)) throw new Error('EDGE_HA_TEST_CLOCK_OFFSET_MS must be a number');
const machineNow = Date.now;
Date.now = () => machineNow() + offset;
