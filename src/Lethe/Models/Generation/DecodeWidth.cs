// How many cores a one-sequence decoding step runs on, chosen by timing the steps themselves.
//
// A decoding step of a small model (the shipped 7 M one, whose weights stay in the L3) is a few
// hundred µs cut into about 33 parallel jobs (q, k, v and attention; o; gate and up; down; per
// layer, then the head), and every job handed to another core pays the distance to it: about
// 0.7 µs when this VM's two vCPUs share an L3, about 2.6 µs when the host has put them on
// different CCDs (docs/engine-int8.md), and milliseconds when another process holds the other
// core. On far-apart cores such a step is faster on one core: q8_0 on the shipped model decoded
// 3,530–4,240 tokens/s on one thread against 2,530–3,410 on two (2026-12-06). The host moves the
// two placements every few seconds, so no fixed choice is right, and the steps are timed instead.
//
// Every `period` steps a probe runs: one untimed step at the other width (so that sleeping
// workers wake, or spinning ones settle, outside the timings), then three pairs, each the other
// width and then the current one. When the median of the pairs' time ratios (other / current) is
// under SwitchBelow the width switches, and the old one is tried again after AfterSwitchPeriod
// steps. Otherwise the wait before the next probe at least doubles (from FirstPeriod, at least
// MinPeriod, at most MaxPeriod) and is at least CostBudget times the probe's extra cost, so a
// model that always wants every core (any model whose weights stream from memory: one core takes
// 1.7 times as long there) waits about 560 steps after its first probe and then 1,024, and pays
// under half a percent. Only steps of one sequence are timed here: with more rows each job
// carries more work per hand-off, and a batch's rows change as sequences finish, which would mix
// unlike steps into one probe. Results do not depend on the width: every kernel gives the same
// bits for any thread count (DecodeWidthTests checks the logits and the tokens).
//
// While the runtime compiles, one core is chosen only briefly. In a fresh process the optimized
// versions of the hot methods are compiled on a background thread during the first few hundred
// steps (tiered compilation; Directory.Build.props), and that thread takes turns on the core the
// worker needs, so one core is then faster, and a probe rightly says so. But the compiler is soon
// done, and the old rule then kept the model on one core for another 200–300 steps (the wait after
// a probe that finds the other width 1.3 times slower): the q8_0 shipped model ran most of `bench
// model --case decode-ab --threads 2`'s first two repetitions on one core in four of six fresh
// processes (2026-12-07; docs/engine-int8.md). So when a probe leaves the model on one core and
// the runtime's count of compiled methods moved since the last probe, the next probe comes
// AfterSwitchPeriod steps later at most. Compiling can only make one core look better, so a probe
// that keeps all cores keeps its usual wait (methods called once per generation are still being
// compiled now and then long after start-up: with short waits after those probes too, 2–6 % of a
// warm repetition's steps ran on one core, for the probes' sake, against 0–3 %).
// Refusing to decide while compiling was tried first: it kept both cores through the compiling,
// and 480 tokens of a fresh process took 455 ms instead of 420.

namespace Lethe.Models.Generation;

/// <summary>Picks one core or all of them for a model's one-row decoding steps, from the steps' own times.</summary>
public sealed class DecodeWidth
{
    /// <summary>Whether steps are timed and narrowed at all (benches turn it off to compare); on by default.</summary>
    public static bool Enabled { get; set; } = true;

    internal const int FirstPeriod = 8, AfterSwitchPeriod = 32, MinPeriod = 64, MaxPeriod = 1024, Pairs = 3;
    internal const double SwitchBelow = 0.95;
    /// <summary>The steps between probes are at least this many times a probe's extra cost (in steps): under 0.5 %.</summary>
    internal const double CostBudget = 200;

    private readonly object gate = new();
    private bool narrow;                      // the current width: one core (true) or all (false)
    private int period = FirstPeriod, countdown = FirstPeriod;
    private int phase = -1;                   // −1: not probing; 0: the untimed step; 1 … 2·Pairs: the pairs
    private readonly long[] otherTicks = new long[Pairs], currentTicks = new long[Pairs];
    private long steps, narrowSteps, switches;
    /// <summary>The methods the runtime has compiled so far (JitInfo; tests pass their own count).</summary>
    private readonly Func<long> compiledMethods;
    private long compiledAtLastProbe;

    /// <summary>A width for one model, timed against the runtime's count of compiled methods.</summary>
    public DecodeWidth() : this(() => System.Runtime.JitInfo.GetCompiledMethodCount()) { }

    /// <summary>A width whose probes look at compiledMethods (tests drive it with made-up counts).</summary>
    internal DecodeWidth(Func<long> compiledMethods)
    {
        this.compiledMethods = compiledMethods;
        compiledAtLastProbe = compiledMethods();
    }

    /// <summary>Whether one-row steps run on one core now (outside a probe).</summary>
    public bool Narrow { get { lock (gate) return narrow; } }
    /// <summary>One-row steps this model has run through Next, those of them on one core, and the width's switches.</summary>
    public (long Steps, long Narrow, long Switches) Counts { get { lock (gate) return (steps, narrowSteps, switches); } }

    /// <summary>Sets the width and puts the next probe MaxPeriod steps away (tests: a width that stays).</summary>
    internal void Settle(bool narrow)
    {
        lock (gate) { this.narrow = narrow; period = countdown = MaxPeriod; phase = -1; }
    }

    /// <summary>Whether steps of `rows` sequences on `threads` threads are timed: one row, more than one thread, timing on.</summary>
    private static bool Timed(int rows, int threads) => rows == 1 && threads > 1 && Enabled;

    /// <summary>Whether the step about to run is the other width's (phase of a probe).</summary>
    private bool ProbesOther => phase == 0 || phase % 2 == 1;

    /// <summary>
    /// The threads the next step of `rows` sequences may use, out of `threads` (Engine.Threads):
    /// all of them for a batch, for one thread, or with timing off; otherwise 1 or all, as the
    /// timings say. Each call must be followed by Took with the step's time.
    /// </summary>
    internal int Next(int rows, int threads)
    {
        if (!Timed(rows, threads)) return threads;
        lock (gate)
        {
            if (phase < 0 && --countdown <= 0) phase = 0;
            bool one = phase >= 0 && ProbesOther ? !narrow : narrow;
            steps++;
            if (one) narrowSteps++;
            return one ? 1 : threads;
        }
    }

    /// <summary>The time of the step Next was asked for (any clock's ticks, the same clock every time).</summary>
    internal void Took(int rows, int threads, long ticks)
    {
        if (!Timed(rows, threads)) return;
        lock (gate)
        {
            if (phase < 0) return;
            int p = phase++;
            if (p == 0) return;
            if (p % 2 == 1) otherTicks[p / 2] = ticks; else currentTicks[p / 2 - 1] = ticks;
            if (phase <= 2 * Pairs) return;
            Decide(MedianRatio());
            // One core, found while the compiler has been at work since the last probe: that holds only while it lasts.
            long compiled = compiledMethods();
            if (narrow && compiled != compiledAtLastProbe) period = Math.Min(period, AfterSwitchPeriod);
            compiledAtLastProbe = compiled;
            phase = -1;
            countdown = period;
        }
    }

    /// <summary>The median over the pairs of the other width's time over the current one's.</summary>
    private double MedianRatio()
    {
        var ratios = new double[Pairs];
        for (int i = 0; i < Pairs; i++) ratios[i] = otherTicks[i] / (double)Math.Max(1, currentTicks[i]);
        Array.Sort(ratios);
        return ratios[Pairs / 2];
    }

    private void Decide(double ratio)
    {
        if (ratio < SwitchBelow)
        {
            narrow = !narrow;
            switches++;
            // The old width is tried again soon: one probe can be the host's noise.
            period = AfterSwitchPeriod;
            return;
        }
        // The probe's 4 steps at the other width cost 4·(ratio − 1) steps' time; the wait after it
        // is at least CostBudget times that, and at least twice the last wait.
        period = (int)Math.Clamp(Math.Max(2.0 * period, 4 * (ratio - 1) * CostBudget), MinPeriod, MaxPeriod);
    }
}
