namespace RealTimeInference.Server.Ingestion;

/// <summary>
/// How many broker readings may be with the model at once (Ingestion:MaxInFlightReadings). Broker
/// messages carry from one to thousands of readings, so a count of messages (Prefetch) cannot keep
/// them inside the model's queue: a message waits here, still unacknowledged, instead of being shed.
/// First come, first served, so a large message is not overtaken forever by small ones.
/// </summary>
internal sealed class ReadingBudget(int capacity)
{
    private readonly Queue<(int Readings, TaskCompletionSource Granted)> _waiting = new();
    private readonly int _capacity = capacity;
    private int _available = capacity;

    /// <summary>Waits until <paramref name="readings"/> (at most the whole budget) are free and takes them.</summary>
    public async ValueTask<Lease> AcquireAsync(int readings, CancellationToken cancellationToken)
    {
        readings = Math.Clamp(readings, 1, _capacity);
        TaskCompletionSource granted;
        lock (_waiting)
        {
            if (_waiting.Count == 0 && _available >= readings)
            {
                _available -= readings;
                return new Lease(this, readings);
            }

            granted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue((readings, granted));
        }

        try
        {
            await granted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Granted meanwhile: give it back; still waiting: it is taken out when its turn comes.
            if (!granted.TrySetCanceled() && granted.Task.IsCompletedSuccessfully)
            {
                Release(readings);
            }

            throw;
        }

        return new Lease(this, readings);
    }

    private void Release(int readings)
    {
        var grants = new List<(int Readings, TaskCompletionSource Granted)>();
        lock (_waiting)
        {
            _available += readings;
            while (_waiting.TryPeek(out var next))
            {
                if (next.Granted.Task.IsCanceled)
                {
                    _waiting.Dequeue();
                }
                else if (_available >= next.Readings)
                {
                    _waiting.Dequeue();
                    _available -= next.Readings;
                    grants.Add(next);
                }
                else
                {
                    break;
                }
            }
        }

        foreach (var (taken, granted) in grants)
        {
            if (!granted.TrySetResult())
            {
                // Cancelled between the dequeue and now: its readings come back.
                Release(taken);
            }
        }
    }

    /// <summary>Readings taken from the budget; disposing gives them back.</summary>
    public readonly struct Lease(ReadingBudget budget, int readings) : IDisposable
    {
        public void Dispose() => budget?.Release(readings);
    }
}
