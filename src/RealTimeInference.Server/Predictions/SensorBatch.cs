using System.Buffers;
using RealTimeInference.Fab.Sensors;

namespace RealTimeInference.Server.Predictions;

/// <summary>
/// Sensor readings validated once, ready to score: the readings as they were sent (for the answer,
/// the stream and later the results store), their feature rows (<see cref="SensorFeatures"/>, the
/// one place a reading becomes a row), and room for a score per reading. Every buffer is pooled;
/// dispose once the answer no longer needs them.
/// </summary>
internal sealed class SensorBatch : IDisposable
{
    private readonly int _capacity;
    private SensorReading[]? _readings;
    private float[]? _floats;

    /// <param name="capacity">Most readings it will hold.</param>
    /// <param name="received">When the readings arrived: the timestamp of those that carry none.</param>
    public SensorBatch(int capacity, DateTimeOffset received)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        Received = received;
        _readings = ArrayPool<SensorReading>.Shared.Rent(capacity);
        // Feature rows, then one score per reading.
        _floats = ArrayPool<float>.Shared.Rent(capacity * (SensorFeatures.Count + 1));
    }

    public int Count { get; private set; }

    public int Capacity => _capacity;

    public DateTimeOffset Received { get; }

    public ReadOnlySpan<SensorReading> Readings => Live(_readings).AsSpan(0, Count);

    /// <summary>The feature rows, row-major, <see cref="SensorFeatures.Count"/> floats a reading.</summary>
    public Memory<float> Features => Live(_floats).AsMemory(0, Count * SensorFeatures.Count);

    /// <summary>One score per reading, written by the model.</summary>
    public Memory<float> Scores => Live(_floats).AsMemory(_capacity * SensorFeatures.Count, Count);

    public void Add(in SensorReading reading)
    {
        if (Count == _capacity)
        {
            throw new InvalidOperationException($"The batch holds at most {_capacity} readings.");
        }

        Live(_readings)[Count] = reading;
        SensorFeatures.Write(reading, Live(_floats).AsSpan(Count * SensorFeatures.Count, SensorFeatures.Count));
        Count++;
    }

    /// <summary>Names the tool and sensor of the readings that name none (an MQTT topic's levels).</summary>
    public void NameUnnamed(string toolId, string sensorId)
    {
        var readings = Live(_readings);
        for (var i = 0; i < Count; i++)
        {
            readings[i] = readings[i] with { ToolId = readings[i].ToolId ?? toolId, SensorId = readings[i].SensorId ?? sensorId };
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _readings, null) is { } readings)
        {
            // The readings hold the clients' tool and sensor ids: none may outlive the request in the pool.
            ArrayPool<SensorReading>.Shared.Return(readings, clearArray: true);
        }

        if (Interlocked.Exchange(ref _floats, null) is { } floats)
        {
            ArrayPool<float>.Shared.Return(floats);
        }
    }

    private static T[] Live<T>(T[]? array) => array ?? throw new ObjectDisposedException(nameof(SensorBatch));
}
