// One model, many concurrent requests, one decode loop. Submit puts a completion job in a bounded
// queue (full: ServerBusyException, which the server answers with 429); a dedicated thread admits
// queued jobs into a DecodeBatch whenever it has room (a new request joins at the next step, a
// finished one leaves), steps the batch, and sends each job's text as it becomes safe to show
// (StopTextStream) through the job's channel, then a Finished event. A job whose token is cancelled
// (the client went away) leaves the queue or the batch at the next step. Under an intervention that
// can abstain (Key Space Detection) a job's text is sent only when it is complete — the whole
// answer, or the refusal with FinishReason.Abstained. A step that throws fails the jobs then in the
// batch (their channels end with the exception) and the loop goes on with the next ones: one bad
// request cannot stop the server. The model and intervention are used only by the loop's thread.
using System.Threading.Channels;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tokenizers;

namespace Lethe.Serving;

public sealed record SchedulerOptions
{
    /// <summary>Requests decoded together at most (rows of the shared KV cache).</summary>
    public int MaxBatch { get; init; } = 16;
    /// <summary>Requests waiting for a row at most; more get ServerBusyException (HTTP 429).</summary>
    public int MaxQueue { get; init; } = 64;
    /// <summary>Largest max_tokens a request may ask for (and the default when it gives none).</summary>
    public int MaxTokens { get; init; } = 256;
    /// <summary>Positions of the shared KV cache (prompt + max_tokens of one request must fit); 0 = the model's max_position_embeddings.</summary>
    public int Capacity { get; init; }

    public void Validate()
    {
        if (MaxBatch < 1) throw LetheException.About($"max_batch must be ≥ 1, got {MaxBatch}", "max_batch");
        if (MaxQueue < 0) throw LetheException.About($"max_queue must be ≥ 0, got {MaxQueue}", "max_queue");
        if (MaxTokens < 1) throw LetheException.About($"max_tokens must be ≥ 1, got {MaxTokens}", "max_tokens");
        if (Capacity < 0) throw new LetheException($"the KV cache capacity must be ≥ 0, got {Capacity}");
    }
}

/// <summary>What a request asks for, already tokenized and checked.</summary>
public sealed record CompletionJob(int[] Prompt, int MaxTokens, SamplingOptions Sampling, IReadOnlyList<string> Stop);

/// <summary>Events of one job: text pieces, then one Finished (or the channel ends with an exception).</summary>
public abstract record CompletionEvent;
public sealed record TextPiece(string Text) : CompletionEvent;
public sealed record Finished(FinishReason Reason, int PromptTokens, int CompletionTokens) : CompletionEvent;

/// <summary>The queue is full: try again later (HTTP 429).</summary>
public sealed class ServerBusyException(string message) : Exception(message);

public sealed class BatchScheduler : IDisposable
{
    private sealed class Job
    {
        public required DecodeSequence Sequence;
        public required Channel<CompletionEvent> Events;
        public required StopTextStream Text;
        public System.Text.StringBuilder? Held;   // the whole answer, when it may still turn into a refusal
    }

    private readonly TransformerModel model;
    private readonly Tokenizer tokenizer;
    private readonly InferenceIntervention? intervention;
    private readonly DecodeBatch batch;
    private readonly Queue<Job> queue = new();
    private readonly Dictionary<DecodeSequence, Job> running = new();
    private readonly object gate = new();
    private readonly Thread loop;
    private bool disposed;

    public BatchScheduler(TransformerModel model, Tokenizer tokenizer, InferenceIntervention? intervention = null, SchedulerOptions? options = null)
    {
        Options = options ?? new SchedulerOptions();
        Options.Validate();
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new LetheException($"{tokenizer.Source}: the tokenizer has {tokenizer.VocabSize} tokens but the model only {model.Config.VocabSize}; they do not belong together");
        this.model = model; this.tokenizer = tokenizer; this.intervention = intervention;
        Capacity = Options.Capacity > 0 ? Options.Capacity : model.Config.MaxPositions;
        batch = new DecodeBatch(model, new DecodeBatchOptions { MaxRows = Options.MaxBatch, Capacity = Capacity, Intervention = intervention });
        loop = new Thread(Loop) { IsBackground = true, Name = "lethe decode loop" };
        loop.Start();
    }

    public SchedulerOptions Options { get; }
    /// <summary>Positions one request may use: prompt + max_tokens.</summary>
    public int Capacity { get; }
    public Tokenizer Tokenizer => tokenizer;
    public ModelConfig Config => model.Config;
    /// <summary>The refusal an abstaining intervention answers with (null when none can abstain).</summary>
    public string? Refusal => intervention is { CanAbstain: true } i ? i.Refusal : null;

    /// <summary>
    /// Queues a job; its events arrive on the returned reader. Throws LetheException when the job
    /// can never fit (prompt + max_tokens over the capacity) and ServerBusyException when the queue is full.
    /// </summary>
    public ChannelReader<CompletionEvent> Submit(CompletionJob request, CancellationToken cancel = default)
    {
        if (request.MaxTokens < 1 || request.MaxTokens > Options.MaxTokens)
            throw new LetheException($"max_tokens must lie in 1..{Options.MaxTokens}, got {request.MaxTokens}");
        if (request.Prompt.Length + request.MaxTokens > Capacity)
            throw new LetheException($"the prompt ({request.Prompt.Length} tokens) + max_tokens ({request.MaxTokens}) exceed the model's context of {Capacity} tokens; shorten the prompt or lower max_tokens");
        var events = Channel.CreateUnbounded<CompletionEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var held = intervention is { CanAbstain: true } ? new System.Text.StringBuilder() : null;
        var text = new StopTextStream(tokenizer, request.Stop, piece =>
        {
            if (held is not null) held.Append(piece);
            else events.Writer.TryWrite(new TextPiece(piece));
        });
        var job = new Job
        {
            Sequence = new DecodeSequence(request.Prompt, request.MaxTokens, request.Sampling, (token, _) => text.Push(token), cancel),
            Events = events, Text = text, Held = held,
        };
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (queue.Count >= Options.MaxQueue)
                throw new ServerBusyException($"the server is busy: {Options.MaxQueue} requests are already waiting for one of its {Options.MaxBatch} batch rows; retry later");
            queue.Enqueue(job);
            Monitor.Pulse(gate);
        }
        // Wake the loop when the client goes away, so a cancelled job leaves even from an idle wait.
        cancel.Register(() => { lock (gate) Monitor.Pulse(gate); });
        return events.Reader;
    }

    /// <summary>Requests waiting for a batch row.</summary>
    public int Queued { get { lock (gate) return queue.Count; } }

    /// <summary>Requests in the decode batch now.</summary>
    public int Running => Volatile.Read(ref runningCount);
    private int runningCount;

    private void Loop()
    {
        while (true)
        {
            lock (gate)
            {
                while (!disposed && queue.Count == 0 && batch.Count == 0) Monitor.Wait(gate);
                if (disposed) break;
                while (queue.Count > 0)
                {
                    var next = queue.Peek();
                    if (next.Sequence.Cancel.IsCancellationRequested) { queue.Dequeue(); next.Events.Writer.TryComplete(new OperationCanceledException()); continue; }
                    if (!batch.CanAdd(next.Sequence)) break;
                    batch.Add(queue.Dequeue().Sequence);
                    running[next.Sequence] = next;
                }
                Volatile.Write(ref runningCount, running.Count);
            }
            try
            {
                foreach (var s in batch.Step()) Complete(running[s], s);
            }
            catch (Exception e)
            {
                // A failure inside the model or a hook: the jobs of this step fail, the loop serves on.
                foreach (var s in batch.Abandon())
                    if (running.Remove(s, out var job)) job.Events.Writer.TryComplete(e);
            }
            Volatile.Write(ref runningCount, running.Count);
        }
        foreach (var s in batch.Abandon())
            if (running.Remove(s, out var job)) job.Events.Writer.TryComplete(new ObjectDisposedException(nameof(BatchScheduler)));
        lock (gate)
            while (queue.Count > 0) queue.Dequeue().Events.Writer.TryComplete(new ObjectDisposedException(nameof(BatchScheduler)));
    }

    private void Complete(Job job, DecodeSequence s)
    {
        running.Remove(s);
        var writer = job.Events.Writer;
        if (s.Finish == FinishReason.Cancelled) { writer.TryComplete(new OperationCanceledException()); return; }
        if (s.Finish != FinishReason.Abstained) job.Text.Flush();
        if (job.Held is not null)
            writer.TryWrite(new TextPiece(s.Abstained ? intervention!.Refusal : job.Held.ToString()));
        // A stop string is reported as "stop", as an end-of-sequence id is.
        var reason = s.Finish == FinishReason.Stopped ? FinishReason.EndOfSequence : s.Finish;
        writer.TryWrite(new Finished(reason, s.Prompt.Length, s.Tokens.Count));
        writer.TryComplete();
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            Monitor.PulseAll(gate);
        }
        loop.Join();
        batch.Dispose();
    }
}
