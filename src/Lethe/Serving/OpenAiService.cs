// The OpenAI-compatible endpoints without HTTP: a request body in, JSON (or the data lines of
// server-sent events) out, over a BatchScheduler. The web host (`lethe serve`, in Lethe.Cli) only
// moves bytes: it reads the body under a size limit, calls Submit before sending any header (so a
// full queue is still a 429 and a bad request a 400), then either awaits the whole answer or writes
// each streamed chunk as "data: …\n\n" and ends with "data: [DONE]". Errors a client causes are
// OpenAiError; anything else is an internal failure the host answers with 500 and the request id.
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Lethe.Serving;

/// <summary>A checked request, ready to submit.</summary>
public sealed record PreparedCompletion(bool Chat, CompletionJob Job, bool Stream, bool IncludeUsage);

/// <summary>A submitted request: its events and the names its response carries.</summary>
public sealed record RunningCompletion(PreparedCompletion Request, ChannelReader<CompletionEvent> Events, string Id, long Created);

public sealed class OpenAiService
{
    private readonly BatchScheduler scheduler;

    public OpenAiService(BatchScheduler scheduler, string modelId)
    {
        this.scheduler = scheduler;
        ModelId = modelId;
        Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    /// <summary>The model name clients must send (the model folder's name unless given).</summary>
    public string ModelId { get; }
    public long Created { get; }

    /// <summary>The name a model is served under: its folder's name (from a folder or its config.json), or a file's name without extension (a .gguf).</summary>
    public static string ModelIdOf(string path)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (Directory.Exists(full)) return Path.GetFileName(full);
        if (Path.GetFileName(full) == "config.json") return Path.GetFileName(Path.GetDirectoryName(full)!);
        return Path.GetFileNameWithoutExtension(full);
    }

    public string ModelsJson() => OpenAiWire.ModelsJson(ModelId, Created);

    /// <summary>Parses and checks a body of /v1/chat/completions (chat) or /v1/completions; an OpenAiError (400) on bad input.</summary>
    public PreparedCompletion Prepare(bool chat, ReadOnlySpan<byte> body)
    {
        WireRequest request = chat ? OpenAiWire.Parse<ChatRequest>(body) : OpenAiWire.Parse<TextRequest>(body);
        if (request.Model is null) throw new OpenAiError(400, "model is required", "model");
        if (request.Model != ModelId)
            throw new OpenAiError(400, $"the model '{request.Model}' does not exist on this server; it serves '{ModelId}' (GET /v1/models)", "model", code: "model_not_found");
        var sampling = OpenAiWire.Sampling(request);
        int maxTokens = OpenAiWire.MaxTokens(request, scheduler.Options.MaxTokens);
        var stops = OpenAiWire.Stops(request);
        var tokenizer = scheduler.Tokenizer;
        int[] prompt;
        try
        {
            if (request is ChatRequest c)
            {
                prompt = ChatPrompt.Encode(tokenizer, OpenAiWire.Messages(c));
                stops.AddRange(ChatPrompt.DefaultStops(tokenizer));
            }
            else prompt = tokenizer.Encode(OpenAiWire.PromptText((TextRequest)request), addSpecialTokens: true);
        }
        catch (LetheException e) { throw new OpenAiError(400, e.Message, chat ? "messages" : "prompt"); }
        // Without max_tokens a request gets what is left of the context, up to the server's cap.
        if (request.MaxTokens is null && request.MaxCompletionTokens is null)
            maxTokens = Math.Max(1, Math.Min(maxTokens, scheduler.Capacity - prompt.Length));
        if (prompt.Length + maxTokens > scheduler.Capacity)
            throw new OpenAiError(400, $"the prompt ({prompt.Length} tokens) + max_tokens ({maxTokens}) exceed the model's context of {scheduler.Capacity} tokens; shorten the prompt or lower max_tokens",
                chat ? "messages" : "prompt", code: "context_length_exceeded");
        return new PreparedCompletion(chat, new CompletionJob(prompt, maxTokens, sampling, stops), request.Stream == true, request.StreamOptions?.IncludeUsage == true);
    }

    /// <summary>Queues the request; an OpenAiError 429 when the queue is full.</summary>
    public RunningCompletion Submit(PreparedCompletion request, CancellationToken cancel)
    {
        ChannelReader<CompletionEvent> events;
        try { events = scheduler.Submit(request.Job, cancel); }
        catch (ServerBusyException e) { throw new OpenAiError(429, e.Message, type: "rate_limit_error", code: "queue_full"); }
        catch (LetheException e) { throw new OpenAiError(400, e.Message); }
        string id = (request.Chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
        return new RunningCompletion(request, events, id, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    /// <summary>Waits for the whole answer; the JSON of chat.completion or text_completion.</summary>
    public async Task<string> CompleteAsync(RunningCompletion run, CancellationToken cancel)
    {
        var (text, end) = await CollectAsync(run.Events, cancel);
        return OpenAiWire.Response(run.Request.Chat, run.Id, ModelId, run.Created, text, end, end.Reason == Models.Generation.FinishReason.Abstained);
    }

    /// <summary>The whole text of a job and how it finished.</summary>
    public static async Task<(string Text, Finished End)> CollectAsync(ChannelReader<CompletionEvent> events, CancellationToken cancel)
    {
        var sb = new System.Text.StringBuilder();
        await foreach (var e in events.ReadAllAsync(cancel))
            switch (e)
            {
                case TextPiece p: sb.Append(p.Text); break;
                case Finished f: return (sb.ToString(), f);
            }
        throw new InvalidOperationException("the decode loop ended a job without a Finished event");
    }

    /// <summary>The data of each server-sent event: chunks of text, the chunk with the finish reason, the usage chunk when asked, then [DONE].</summary>
    public async IAsyncEnumerable<string> StreamAsync(RunningCompletion run, [EnumeratorCancellation] CancellationToken cancel)
    {
        bool chat = run.Request.Chat, usage = run.Request.IncludeUsage, first = true;
        await foreach (var e in run.Events.ReadAllAsync(cancel))
        {
            if (e is TextPiece p)
            {
                if (p.Text.Length == 0) continue;
                yield return OpenAiWire.Chunk(chat, run.Id, ModelId, run.Created, p.Text, first, null, usage);
                first = false;
            }
            else if (e is Finished f)
            {
                yield return OpenAiWire.Chunk(chat, run.Id, ModelId, run.Created, null, first, f, false);
                if (usage) yield return OpenAiWire.UsageChunk(chat, run.Id, ModelId, run.Created, f);
                yield return "[DONE]";
                yield break;
            }
        }
        throw new InvalidOperationException("the decode loop ended a job without a Finished event");
    }
}
