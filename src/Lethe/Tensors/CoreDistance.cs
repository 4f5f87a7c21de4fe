// How far apart two cores of this machine are, measured: the round trip of one value between two
// threads that spin on it. Every hand-off of a parallel op pays this latency several times over
// (docs/engine-int8.md). On the 2-vCPU Zen 4 VMs this project runs on it is bimodal and moves while
// a process runs: 62–82 ns when the host has put the two vCPUs on cores that share an L3, 210–330 ns
// when it has put them on different CCDs, switching every few seconds (measured 2026-12-05); the
// two placements decode at different speeds. `lethe engine` prints it, and benches that use both
// cores record it beside their timings instead of mixing the placements into one number.
using System.Diagnostics;

namespace Lethe.Tensors;

public static class CoreDistance
{
    /// <summary>Below this round trip (ns) the two threads ran on cores that share a cache ("near").</summary>
    public const double NearNs = 150;
    /// <summary>Above this round trip (ns), and below BusyNs, they ran on cores further apart ("far").</summary>
    public const double FarNs = 200;
    /// <summary>Above this the other thread was not running all the time (another process had its core): "busy".</summary>
    public const double BusyNs = 5000;

    /// <summary>
    /// The median of 5 batches of 1000 round trips between the calling thread and a new one, in ns;
    /// NaN on a single core. Waits 5 ms first, so that the engine's workers (which spin 2 ms after
    /// a job) are asleep and leave the cores to the two threads measuring. Gives up after 50 ms
    /// (when the other thread cannot get a core) with the mean round trip so far, which is then far
    /// above BusyNs.
    /// </summary>
    public static double RoundTripNs()
    {
        if (Environment.ProcessorCount < 2) return double.NaN;
        Thread.Sleep(5);
        const int Batches = 5, PerBatch = 1000;
        long flag = 0;
        bool stop = false;
        var partner = new Thread(() =>
        {
            // Answers every odd value with the next even one.
            while (!Volatile.Read(ref stop))
            {
                long f = Volatile.Read(ref flag);
                if ((f & 1) == 1) Volatile.Write(ref flag, f + 1);
                else Thread.SpinWait(1);
            }
        }) { IsBackground = true, Name = "lethe-core-distance" };
        partner.Start();
        long start = Stopwatch.GetTimestamp(), deadline = start + Stopwatch.Frequency / 20;
        var batches = new List<double>(Batches);
        long value = 0, trips = 0;
        bool late = false;
        // One unmeasured batch first: the partner thread starting up.
        for (int b = -1; b < Batches && !late; b++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < PerBatch; i++)
            {
                Volatile.Write(ref flag, ++value);
                while (Volatile.Read(ref flag) == value)
                {
                    Thread.SpinWait(1);
                    if (Stopwatch.GetTimestamp() > deadline) { late = true; break; }
                }
                if (late) break;
                value++;
                trips++;
            }
            if (b >= 0 && !late) batches.Add(Stopwatch.GetElapsedTime(t0).TotalNanoseconds / PerBatch);
        }
        Volatile.Write(ref stop, true);
        partner.Join();
        if (late) return Math.Round(Stopwatch.GetElapsedTime(start).TotalNanoseconds / Math.Max(1, trips));
        batches.Sort();
        return Math.Round(batches[Batches / 2]);
    }

    /// <summary>One round trip's reading: "near", "far", "busy", or "between" (NearNs to FarNs); "one core" for NaN.</summary>
    public static string Classify(double ns) =>
        double.IsNaN(ns) ? "one core" : ns > BusyNs ? "busy" : ns < NearNs ? "near" : ns > FarNs ? "far" : "between";

    /// <summary>
    /// The placement during a measurement from the round trips before and after it: "busy" when
    /// either reading was, their common class when they agree, otherwise "mixed" (the host moved
    /// the cores in between).
    /// </summary>
    public static string Placement(double before, double after)
    {
        string a = Classify(before), b = Classify(after);
        if (a == "busy" || b == "busy") return "busy";
        return a == b ? a : "mixed";
    }
}
