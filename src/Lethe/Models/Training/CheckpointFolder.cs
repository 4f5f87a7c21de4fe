// A checkpoint folder that survives a kill at any instant, shared by every resumable loop (train,
// unlearning by training). A folder is complete when its trainer_state.json exists: TrainingState
// writes that file last (atomically) and it is deleted first. Saving fills DIR.tmp, renames
// DIR → DIR.old and DIR.tmp → DIR, then deletes DIR.old; a kill anywhere leaves at least one
// complete folder, and Recover makes the newest one DIR again. The metrics log of such a loop is
// trimmed to the checkpoint's step on resume, so no step appears twice.
using System.Text.Json;
using Lethe.Util;

namespace Lethe.Models.Training;

public static class CheckpointFolder
{
    private const string CompleteMarker = "trainer_state.json";

    public static bool IsComplete(string dir) => File.Exists(Path.Combine(dir, CompleteMarker));

    /// <summary>Whether DIR (possibly mid-swap) holds a checkpoint a resume would continue.</summary>
    public static bool Exists(string dir) => IsComplete(dir) || IsComplete(dir + ".tmp") || IsComplete(dir + ".old");

    private static void Delete(string dir)
    {
        if (!Directory.Exists(dir)) return;
        File.Delete(Path.Combine(dir, CompleteMarker)); // first: a half-deleted folder never looks complete
        Directory.Delete(dir, true);
    }

    /// <summary>After a kill mid-swap: DIR becomes the newest complete checkpoint (tmp is newer, old is older); the rest is removed.</summary>
    public static void Recover(string dir)
    {
        string temp = dir + ".tmp", old = dir + ".old";
        if (!IsComplete(dir))
        {
            string? source = IsComplete(temp) ? temp : IsComplete(old) ? old : null;
            if (source is null) return;
            if (Directory.Exists(dir)) Directory.Delete(dir, true); // incomplete: never had its marker
            Directory.Move(source, dir);
        }
        Delete(temp);
        Delete(old);
    }

    /// <summary>Writes DIR as a whole: <paramref name="fill"/> writes into a new folder and must end with TrainingState.Save (the marker); then it is swapped in.</summary>
    public static void Save(string dir, Action<string> fill)
    {
        string temp = dir + ".tmp", old = dir + ".old";
        Recover(dir);
        Delete(temp);
        Directory.CreateDirectory(temp);
        fill(temp);
        if (!IsComplete(temp)) throw new InvalidOperationException($"{temp}: the checkpoint writer did not write {CompleteMarker} last");
        if (IsComplete(dir)) { Delete(old); Directory.Move(dir, old); }
        else if (Directory.Exists(dir)) Directory.Delete(dir, true);
        Directory.Move(temp, dir);
        Delete(old);
    }

    /// <summary>Removes the checkpoint and any copy a kill left mid-swap.</summary>
    public static void Remove(string dir)
    {
        Delete(dir + ".tmp");
        Delete(dir + ".old");
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
    }

    /// <summary>
    /// Keeps only the metrics lines of steps ≤ <paramref name="step"/> (the ones the resumed run has
    /// really done; the steps after the checkpoint run again); a line cut by a kill is dropped.
    /// </summary>
    public static void TrimMetrics(string path, long step)
    {
        if (!File.Exists(path)) return;
        var kept = new List<string>();
        foreach (var line in File.ReadLines(path))
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("step", out var s) && s.TryGetDouble(out double at) && at <= step) kept.Add(line);
            }
            catch (JsonException) { }
        }
        AtomicFile.WriteAllText(path, string.Concat(kept.Select(l => l + "\n")));
    }
}
