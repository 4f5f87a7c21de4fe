// Generated tokens → text pieces that are safe to show as they come: the streaming decoder never
// gives half a UTF-8 character, and text that might be the start of a stop string is held back until
// it is known not to be one. A stop string ends the text (Push says so) and is not emitted; Flush
// emits what was held back when generation ended for another reason. Used by TextGenerator
// (`lethe generate`) and the server (Serving/BatchScheduler), one instance per sequence.
using Lethe.Tokenizers;

namespace Lethe.Models.Generation;

public sealed class StopTextStream
{
    private readonly string[] stops;
    private readonly int holdBack;
    private readonly StreamingDecoder decoder;
    private readonly Action<string> emit;
    private readonly System.Text.StringBuilder text = new();
    private int emitted;

    public StopTextStream(Tokenizer tokenizer, IReadOnlyList<string>? stopStrings, Action<string> emit)
    {
        stops = (stopStrings ?? Array.Empty<string>()).Where(s => s.Length > 0).ToArray();
        holdBack = stops.Length == 0 ? 0 : stops.Max(s => s.Length) - 1;
        decoder = tokenizer.CreateStreamingDecoder(skipSpecialTokens: true);
        this.emit = emit;
    }

    /// <summary>Whether a stop string has been met (nothing more is emitted).</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds a token; returns true when the text now holds a stop string (generation should stop).</summary>
    public bool Push(int token)
    {
        if (Stopped) return true;
        text.Append(decoder.Push(token));
        string all = text.ToString();
        foreach (var stop in stops)
        {
            int at = all.IndexOf(stop, Math.Max(0, emitted - holdBack), StringComparison.Ordinal);
            if (at < 0) continue;
            if (at > emitted) emit(all[emitted..at]);
            Stopped = true;
            return true;
        }
        int safe = all.Length - holdBack;
        if (safe > emitted) { emit(all[emitted..safe]); emitted = safe; }
        return false;
    }

    /// <summary>Emits the text held back (generation ended without a stop string).</summary>
    public void Flush()
    {
        if (Stopped) return;
        string rest = text.Append(decoder.Flush()).ToString();
        if (rest.Length > emitted) emit(rest[emitted..]);
        emitted = rest.Length;
    }
}
