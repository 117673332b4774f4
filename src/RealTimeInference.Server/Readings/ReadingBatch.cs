using System.Buffers;
using RealTimeInference.Inference.Models;
using RealTimeInference.Results.Storage;

namespace RealTimeInference.Server.Readings;

/// <summary>One reading of a <see cref="ReadingBatch"/>: when, its context, and where its values lie in the batch.</summary>
internal readonly record struct ContextReading(DateTimeOffset Timestamp, ReadingContext Context, int ValueStart, int ValueCount);

/// <summary>
/// Readings with their context and any sensors, validated once: per reading its sensor names and
/// values (side by side, pooled), and room for the model that scored it and its score. Dispose once
/// the answer and the sinks no longer need them.
/// </summary>
internal sealed class ReadingBatch : IDisposable
{
    private ContextReading[] _readings;
    private string[] _names;
    private float[] _values;
    private float[] _scores;
    private ServedModel?[] _models;
    private bool[] _fallbacks;
    private int _valueCount;
    private bool _disposed;

    /// <param name="capacity">Readings it expects (it grows past that).</param>
    /// <param name="received">When the readings arrived: the timestamp of those that carry none.</param>
    public ReadingBatch(int capacity, DateTimeOffset received)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Received = received;
        _readings = ArrayPool<ContextReading>.Shared.Rent(capacity);
        _names = ArrayPool<string>.Shared.Rent(capacity * 16);
        _values = ArrayPool<float>.Shared.Rent(capacity * 16);
        _scores = [];
        _models = [];
        _fallbacks = [];
    }

    public int Count { get; private set; }

    public DateTimeOffset Received { get; }

    public ReadOnlySpan<ContextReading> Readings => _readings.AsSpan(0, Count);

    /// <summary>One score per reading, written when scored.</summary>
    public Span<float> Scores => _scores.AsSpan(0, Count);

    /// <summary>Per reading, the model that answered (the routed one or its fallback), written when scored.</summary>
    public Span<ServedModel?> Models => _models.AsSpan(0, Count);

    /// <summary>Per reading, whether the routed model's fallback answered instead of it, written when scored.</summary>
    public Span<bool> Fallbacks => _fallbacks.AsSpan(0, Count);

    public ReadOnlySpan<string> Names(in ContextReading reading) => _names.AsSpan(reading.ValueStart, reading.ValueCount);

    public ReadOnlySpan<float> Values(in ContextReading reading) => _values.AsSpan(reading.ValueStart, reading.ValueCount);

    /// <summary>The sensor name of the batch's <paramref name="valueIndex"/>th value.</summary>
    public string NameAt(int valueIndex) => _names[valueIndex];

    /// <summary>The value of sensor <paramref name="name"/> in <paramref name="reading"/>; false when it has none.</summary>
    public bool TryGetValue(in ContextReading reading, string name, out float value)
    {
        var names = Names(reading);
        for (var i = 0; i < names.Length; i++)
        {
            if (ReferenceEquals(names[i], name) || names[i] == name)
            {
                value = _values[reading.ValueStart + i];
                return true;
            }
        }

        value = 0;
        return false;
    }

    /// <summary>Appends one sensor value of the reading being read (before its <see cref="Add"/>).</summary>
    public void AddValue(string name, float value)
    {
        if (_valueCount == _values.Length)
        {
            Grow(ref _names, _valueCount, clear: true);
            Grow(ref _values, _valueCount, clear: false);
        }

        _names[_valueCount] = name;
        _values[_valueCount++] = value;
    }

    /// <summary>Where the next reading's values start: give it to <see cref="Add"/>, or to <see cref="Discard"/> for a bad reading.</summary>
    public int ValueMark => _valueCount;

    /// <summary>Forgets the values appended since <paramref name="mark"/>: their reading was bad.</summary>
    public void Discard(int mark) => _valueCount = mark;

    /// <summary>Adds the reading whose values were appended since <paramref name="mark"/>.</summary>
    public void Add(DateTimeOffset? timestamp, ReadingContext context, int mark)
    {
        if (Count == _readings.Length)
        {
            Grow(ref _readings, Count, clear: true);
        }

        _readings[Count++] = new ContextReading(timestamp ?? Received, context, mark, _valueCount - mark);
    }

    /// <summary>Forgets every reading and value: the batch is as new (a parse that gave up starts again).</summary>
    public void Clear() => (Count, _valueCount) = (0, 0);

    /// <summary>Makes room for the scores and the answering models, once every reading is in.</summary>
    public void PrepareScores()
    {
        _scores = ArrayPool<float>.Shared.Rent(Count);
        _models = ArrayPool<ServedModel?>.Shared.Rent(Count);
        _fallbacks = ArrayPool<bool>.Shared.Rent(Count);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        // The readings hold the clients' context and sensor names: none may outlive the request in the pool.
        ArrayPool<ContextReading>.Shared.Return(_readings, clearArray: true);
        ArrayPool<string>.Shared.Return(_names, clearArray: true);
        ArrayPool<float>.Shared.Return(_values);
        if (_scores.Length > 0)
        {
            ArrayPool<float>.Shared.Return(_scores);
            ArrayPool<ServedModel?>.Shared.Return(_models, clearArray: true);
            ArrayPool<bool>.Shared.Return(_fallbacks);
        }
    }

    private static void Grow<T>(ref T[] array, int used, bool clear)
    {
        var bigger = ArrayPool<T>.Shared.Rent(array.Length * 2);
        array.AsSpan(0, used).CopyTo(bigger);
        ArrayPool<T>.Shared.Return(array, clear);
        array = bigger;
    }
}
