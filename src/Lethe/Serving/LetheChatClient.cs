// Microsoft.Extensions.AI's IChatClient over a Lethe model with its unlearning adapters, for .NET
// applications that talk to models through the ecosystem's standard interface. It runs on a
// BatchScheduler, so concurrent calls share one batched decode loop exactly as `lethe serve`'s
// requests do; the prompt is the conversation through ChatPrompt (the tokenizer's chat template,
// else Lethe's default question/answer format). ChatOptions honoured: MaxOutputTokens, Temperature,
// TopP, Seed, StopSequences, ModelId (must name this model when given). A guard that abstains (Key
// Space Detection) answers with its refusal and ChatFinishReason.ContentFilter; streaming then
// yields the whole answer in one update, since the verdict comes only at the answer's end.
using System.Runtime.CompilerServices;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tokenizers;
using Microsoft.Extensions.AI;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Lethe.Serving;

public sealed class LetheChatClient : IChatClient
{
    private readonly BatchScheduler scheduler;
    private readonly bool ownsScheduler;

    /// <summary>A client with its own decode loop over the model (and intervention: combined adapters, or null).</summary>
    public LetheChatClient(TransformerModel model, Tokenizer tokenizer, InferenceIntervention? intervention = null, string? modelId = null, SchedulerOptions? options = null)
        : this(new BatchScheduler(model, tokenizer, intervention, options), modelId ?? OpenAiService.ModelIdOf(model.Config.SourcePath))
    {
        ownsScheduler = true;
    }

    /// <summary>A client sharing an existing decode loop (for example the server's).</summary>
    public LetheChatClient(BatchScheduler scheduler, string modelId)
    {
        this.scheduler = scheduler;
        Metadata = new ChatClientMetadata("lethe", null, modelId);
    }

    public ChatClientMetadata Metadata { get; }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var events = scheduler.Submit(Job(messages, options), cancellationToken);
        var (text, end) = await OpenAiService.CollectAsync(events, cancellationToken);
        return new ChatResponse(new AiChatMessage(ChatRole.Assistant, text))
        {
            FinishReason = Reason(end.Reason), ModelId = Metadata.DefaultModelId, CreatedAt = DateTimeOffset.UtcNow,
            Usage = new UsageDetails { InputTokenCount = end.PromptTokens, OutputTokenCount = end.CompletionTokens, TotalTokenCount = end.PromptTokens + end.CompletionTokens },
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var events = scheduler.Submit(Job(messages, options), cancellationToken);
        string responseId = Guid.NewGuid().ToString("N");
        await foreach (var e in events.ReadAllAsync(cancellationToken))
        {
            var update = e switch
            {
                TextPiece p => new ChatResponseUpdate(ChatRole.Assistant, p.Text),
                Finished f => new ChatResponseUpdate(ChatRole.Assistant, (string?)null)
                {
                    FinishReason = Reason(f.Reason),
                    Contents = { new UsageContent(new UsageDetails { InputTokenCount = f.PromptTokens, OutputTokenCount = f.CompletionTokens, TotalTokenCount = f.PromptTokens + f.CompletionTokens }) },
                },
                _ => throw new InvalidOperationException($"unexpected event {e}"),
            };
            update.ResponseId = responseId;
            update.ModelId = Metadata.DefaultModelId;
            yield return update;
        }
    }

    private CompletionJob Job(IEnumerable<AiChatMessage> messages, ChatOptions? options)
    {
        if (options?.ModelId is { } id && id != Metadata.DefaultModelId)
            throw new LetheException($"this chat client serves '{Metadata.DefaultModelId}', not '{id}'");
        var turns = messages.Select(m => new Tokenizers.ChatMessage(m.Role.Value, m.Text)).ToList();
        var prompt = ChatPrompt.Encode(scheduler.Tokenizer, turns);
        var stops = (options?.StopSequences ?? new List<string>()).Concat(ChatPrompt.DefaultStops(scheduler.Tokenizer)).ToList();
        int maxTokens = options?.MaxOutputTokens ?? Math.Max(1, Math.Min(scheduler.Options.MaxTokens, scheduler.Capacity - prompt.Length));
        var sampling = new SamplingOptions
        {
            Temperature = options?.Temperature ?? 0f, TopP = options?.TopP ?? 1f, Seed = unchecked((ulong)(options?.Seed ?? 0)),
        };
        sampling.Validate();
        return new CompletionJob(prompt, maxTokens, sampling, stops);
    }

    private static ChatFinishReason? Reason(FinishReason reason) => reason switch
    {
        FinishReason.Length => ChatFinishReason.Length,
        FinishReason.EndOfSequence or FinishReason.Stopped => ChatFinishReason.Stop,
        FinishReason.Abstained => ChatFinishReason.ContentFilter,
        _ => null,
    };

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? Metadata
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType == typeof(BatchScheduler) ? scheduler
        : null;

    public void Dispose()
    {
        if (ownsScheduler) scheduler.Dispose();
    }
}
