// Text in, text out: encodes the prompt (optionally through the tokenizer's chat template), runs
// the token generator on a worker thread, and streams decoded text as IAsyncEnumerable<string>.
// StopTextStream never emits half a UTF-8 character and holds back text that might be the start
// of a stop string; a stop string ends generation and is not emitted. Under an intervention that
// can abstain (Key Space Detection) the answer is known only at its end: Answer returns it whole,
// or the refusal.
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Lethe.Tokenizers;

namespace Lethe.Models.Generation;

/// <summary>
/// How long one generation took: the prompt's tokens, the new tokens, the time from the start until
/// the first new token (the prompt's forward pass and the first sampling) and from the first new
/// token to the last (NewTokens − 1 decoding steps).
/// </summary>
public sealed record GenerationTimings(int PromptTokens, int NewTokens, double FirstTokenSeconds, double DecodeSeconds)
{
    /// <summary>Decoding steps per second after the first new token (NaN with fewer than 2 new tokens).</summary>
    public double DecodeTokensPerSecond => NewTokens >= 2 && DecodeSeconds > 0 ? (NewTokens - 1) / DecodeSeconds : double.NaN;
}

public sealed class TextGenerator
{
    private readonly TransformerModel model;
    private readonly Tokenizer tokenizer;

    /// <summary>The timings of the last generation this object ran to its end (null before).</summary>
    public GenerationTimings? LastTimings { get; private set; }

    public TextGenerator(TransformerModel model, Tokenizer tokenizer)
    {
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new LetheException($"{tokenizer.Source}: the tokenizer has {tokenizer.VocabSize} tokens but the model only {model.Config.VocabSize}; they do not belong together");
        this.model = model; this.tokenizer = tokenizer;
    }

    /// <summary>The prompt's ids: the chat template applied to one user message when chat, else the text with the tokenizer's special tokens.</summary>
    public int[] EncodePrompt(string prompt, bool chat)
    {
        if (!chat) return tokenizer.Encode(prompt, addSpecialTokens: true);
        // apply_chat_template's text already holds BOS etc., so it is encoded without adding them again (as transformers does).
        return tokenizer.Encode(tokenizer.ApplyChatTemplate(new[] { new ChatMessage("user", prompt) }), addSpecialTokens: false);
    }

    /// <summary>
    /// Generates from prompt ids, passing decoded text to emit as it becomes safe to show (never half
    /// a character, never the start of a stop string); a stop string ends generation and is not emitted.
    /// </summary>
    private GeneratedSequence Run(int[] ids, GenerationOptions options, IReadOnlyList<string>? stopStrings, Action<string> emit, CancellationToken cancel)
    {
        var text = new StopTextStream(tokenizer, stopStrings, emit);
        long start = System.Diagnostics.Stopwatch.GetTimestamp(), first = 0, last = 0;
        int count = 0;
        var result = new Generator(model).GenerateSequences(new[] { ids }, options, (_, token, _) =>
        {
            last = System.Diagnostics.Stopwatch.GetTimestamp();
            if (count++ == 0) first = last;
            return text.Push(token);
        }, cancel)[0];
        text.Flush();
        double Seconds(long from, long to) => (to - from) / (double)System.Diagnostics.Stopwatch.Frequency;
        LastTimings = new GenerationTimings(ids.Length, count, count > 0 ? Seconds(start, first) : 0, count > 0 ? Seconds(first, last) : 0);
        return result;
    }

    public async IAsyncEnumerable<string> StreamAsync(string prompt, GenerationOptions options, IReadOnlyList<string>? stopStrings = null,
        bool chat = false, [EnumeratorCancellation] CancellationToken cancel = default)
    {
        if (options.Intervention is { CanAbstain: true })
            throw new LetheException("an intervention that can abstain decides only at the end of the answer; use Answer, not StreamAsync");
        var ids = EncodePrompt(prompt, chat);
        var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var worker = Task.Run(() =>
        {
            try { Run(ids, options, stopStrings, piece => channel.Writer.TryWrite(piece), cancel); channel.Writer.Complete(); }
            catch (Exception e) { channel.Writer.Complete(e); }
        }, cancel);
        await foreach (var piece in channel.Reader.ReadAllAsync(cancel)) yield return piece;
        await worker;
    }

    /// <summary>
    /// The whole answer, cut before the first stop string; under an intervention that abstains on
    /// it, the intervention's refusal (Abstained is then true).
    /// </summary>
    public (string Text, bool Abstained) Answer(string prompt, GenerationOptions options, IReadOnlyList<string>? stopStrings = null, bool chat = false, CancellationToken cancel = default)
    {
        var sb = new System.Text.StringBuilder();
        var result = Run(EncodePrompt(prompt, chat), options, stopStrings, piece => sb.Append(piece), cancel);
        return result.Abstained ? (options.Intervention!.Refusal, true) : (sb.ToString(), false);
    }

    /// <summary>The whole continuation as one string.</summary>
    public string Generate(string prompt, GenerationOptions options, IReadOnlyList<string>? stopStrings = null, bool chat = false)
    {
        var sb = new System.Text.StringBuilder();
        var stream = StreamAsync(prompt, options, stopStrings, chat).GetAsyncEnumerator();
        try { while (stream.MoveNextAsync().AsTask().GetAwaiter().GetResult()) sb.Append(stream.Current); }
        finally { stream.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
        return sb.ToString();
    }
}
