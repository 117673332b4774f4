using System.Buffers;
using RealTimeInference.Results.Alerts;

namespace RealTimeInference.Server.Alerts;

/// <summary>A batch's verdicts, in a pooled array, handed to the alert rules under one lock.</summary>
/// <param name="capacity">The most verdicts it will hold.</param>
internal struct Verdicts(int capacity)
{
    private readonly Verdict[] _items = ArrayPool<Verdict>.Shared.Rent(Math.Max(1, capacity));
    private int _count;

    public void Add(in Verdict verdict) => _items[_count++] = verdict;

    /// <summary>Hands them to the rules, and the array back to the pool.</summary>
    public readonly void Observe(AlertBook book)
    {
        try
        {
            book.Observe(_items.AsSpan(0, _count));
        }
        finally
        {
            ArrayPool<Verdict>.Shared.Return(_items, clearArray: true);
        }
    }
}
