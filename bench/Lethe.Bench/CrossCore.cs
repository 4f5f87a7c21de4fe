// How far apart the host has put this VM's cores: the round trip of one value between two threads
// that spin on it. On the 2-vCPU Zen 4 VMs this project runs on, it is bimodal and moves while a
// process runs: about 65 ns when the two vCPUs share an L3 (one CCX), about 320 ns when the host
// has put them on different CCDs, switching every few seconds (measured 2026-12-05). Every
// hand-off of a parallel op pays it several times over, so benches that use both cores record it
// beside their timings instead of mixing the two placements into one number.
using System.Diagnostics;

namespace Lethe.Bench;

public static class CrossCore
{
    /// <summary>
    /// The median of 5 batches of 1000 round trips between this thread and a new one, in ns. Waits
    /// 5 ms first so that the engine's workers (which spin 2 ms after a job) have gone to sleep and
    /// leave both cores to the two threads measuring.
    /// </summary>
    public static double RoundTripNs()
    {
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
        }) { IsBackground = true, Name = "cross-core-probe" };
        partner.Start();
        var batches = new double[Batches];
        long value = 0;
        // One unmeasured batch: the partner thread starting up.
        for (int b = -1; b < Batches; b++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < PerBatch; i++)
            {
                Volatile.Write(ref flag, ++value);
                while (Volatile.Read(ref flag) == value) Thread.SpinWait(1);
                value++;
            }
            if (b >= 0) batches[b] = Stopwatch.GetElapsedTime(t0).TotalNanoseconds / PerBatch;
        }
        Volatile.Write(ref stop, true);
        partner.Join();
        Array.Sort(batches);
        return Math.Round(batches[Batches / 2]);
    }

    /// <summary>"near" (under 150 ns: one L3), "far" (over 200 ns) or "mixed" for round trips taken before and after a measurement.</summary>
    public static string Placement(double before, double after) =>
        before < 150 && after < 150 ? "near" : before > 200 && after > 200 ? "far" : "mixed";
}
