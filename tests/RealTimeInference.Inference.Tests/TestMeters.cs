using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace RealTimeInference.Inference.Tests;

/// <summary>A meter factory whose meters are private to one test, with a listener summing what they record.</summary>
internal sealed class TestMeters : IMeterFactory
{
    private readonly List<Meter> _meters = [];
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new();

    public TestMeters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (_meters.Contains(instrument.Meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
            {
                key += $"|{tag.Key}={tag.Value}";
            }

            _totals.AddOrUpdate(key, value, (_, total) => total + value);
        });
        _listener.Start();
    }

    /// <summary>Sum of a counter's measurements with exactly these tags, e.g. <c>("model", "m"), ("outcome", "ok")</c>.</summary>
    public long Total(string instrument, params (string Key, string Value)[] tags)
    {
        var key = instrument + string.Concat(tags.Select(t => $"|{t.Key}={t.Value}"));
        return _totals.TryGetValue(key, out var total) ? total : 0;
    }

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version, options.Tags, this);
        lock (_meters)
        {
            _meters.Add(meter);
        }

        _listener.RecordObservableInstruments();
        return meter;
    }

    public void Dispose()
    {
        _listener.Dispose();
        foreach (var meter in _meters)
        {
            meter.Dispose();
        }
    }
}
