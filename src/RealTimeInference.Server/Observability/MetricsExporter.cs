using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Observability;

/// <summary>
/// Exports this server's instruments (the meters its <see cref="IMeterFactory"/> made: the
/// project's, ASP.NET Core's) and the .NET runtime's as Prometheus text, each with its true type:
/// a <see cref="Counter{T}"/> is a counter named <c>_total</c>, an up-down counter or gauge a
/// gauge, a histogram a histogram with the bucket bounds its instrument advises; units become base
/// unit suffixes (<c>s</c> -> <c>_seconds</c>, <c>By</c> -> <c>_bytes</c>) and the description is
/// the HELP text. Listening starts with the host, so nothing recorded before the first scrape is lost;
/// a measurement costs a look-up of its label set and an interlocked add.
/// </summary>
internal sealed class MetricsExporter : IHostedService, IDisposable
{
    /// <summary>Meters of the framework exported besides the project's own.</summary>
    private static readonly string[] FrameworkMeters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.RateLimiting", "System.Runtime"];

    private static readonly double[] DefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    private readonly IMeterFactory _meters;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, ExportedInstrument> _instruments = new();
    private readonly Lock _collect = new();

    public MetricsExporter(IMeterFactory meters)
    {
        _meters = meters;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (IsExported(instrument))
            {
                var exported = _instruments.GetOrAdd(instrument, i => new ExportedInstrument(i));
                listener.EnableMeasurementEvents(instrument, exported);
            }
        };
        _listener.MeasurementsCompleted = (instrument, _) => _instruments.TryRemove(instrument, out ExportedInstrument? _);
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((ExportedInstrument)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((ExportedInstrument)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>((_, value, tags, state) => ((ExportedInstrument)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>((_, value, tags, state) => ((ExportedInstrument)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((ExportedInstrument)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>((_, value, tags, state) => ((ExportedInstrument)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>((_, value, tags, state) => ((ExportedInstrument)state!).Record((double)value, tags));
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _listener.Dispose();

    /// <summary>Writes every exported series in the Prometheus text format (0.0.4).</summary>
    public string Collect()
    {
        var text = new StringBuilder(64 * 1024);
        lock (_collect)
        {
            foreach (var instrument in _instruments.Values)
            {
                instrument.BeginObservation();
            }

            // Observable instruments report now, through the same callbacks.
            _listener.RecordObservableInstruments();
            foreach (var instrument in _instruments.Values.OrderBy(i => i.Name, StringComparer.Ordinal))
            {
                instrument.WriteTo(text);
            }
        }

        return text.ToString();
    }

    private bool IsExported(Instrument instrument) =>
        ReferenceEquals(instrument.Meter.Scope, _meters)
            ? instrument.Meter.Name.StartsWith(RequestMetrics.MeterName, StringComparison.Ordinal) || FrameworkMeters.Contains(instrument.Meter.Name)
            // The runtime's meter belongs to the process, not to a host.
            : instrument.Meter.Name == "System.Runtime";

    /// <summary>One instrument as Prometheus sees it: its name, type, help, and a series per label set.</summary>
    private sealed class ExportedInstrument
    {
        private readonly ConcurrentDictionary<LabelSet, Series> _series = new(LabelSetComparer.Instance);
        private readonly ConcurrentDictionary<LabelSet, Series>.AlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>> _lookup;
        private readonly double[]? _buckets;
        private readonly bool _observable;
        private readonly bool _adds;
        private long _observation;

        public ExportedInstrument(Instrument instrument)
        {
            _lookup = _series.GetAlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>>();
            var type = instrument.GetType().GetGenericTypeDefinition();
            _observable = instrument.IsObservable;
            (Type, _adds) = type.Name switch
            {
                "Counter`1" => ("counter", true),
                "ObservableCounter`1" => ("counter", false),
                "Histogram`1" => ("histogram", true),
                "UpDownCounter`1" => ("gauge", true),
                _ => ("gauge", false),
            };
            if (Type == "histogram")
            {
                _buckets = Buckets(instrument);
            }

            Name = PrometheusName(instrument, Type);
            Help = string.IsNullOrEmpty(instrument.Description) ? instrument.Name : instrument.Description;
        }

        public string Name { get; }

        public string Type { get; }

        public string Help { get; }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            // Found by the measurement's own tags: no copy unless the series is new.
            if (!_lookup.TryGetValue(tags, out var series))
            {
                _lookup.TryAdd(tags, new Series(_buckets));
                _lookup.TryGetValue(tags, out series);
            }

            if (_buckets is not null)
            {
                series!.Observe(value, _buckets);
            }
            else if (_adds)
            {
                series!.Add(value);
            }
            else
            {
                series!.Set(value, Volatile.Read(ref _observation));
            }
        }

        /// <summary>A scrape starts: observable series not reported in it are gone (a model unloaded, say).</summary>
        public void BeginObservation() => Interlocked.Increment(ref _observation);

        public void WriteTo(StringBuilder text)
        {
            var live = _series.Where(s => !_observable || s.Value.Observation == _observation).OrderBy(s => s.Key.ToString(), StringComparer.Ordinal).ToArray();
            if (live.Length == 0 && !(Type == "counter" && !_observable))
            {
                return;
            }

            text.Append("# HELP ").Append(Name).Append(' ').Append(Escape(Help, quote: false)).Append('\n');
            text.Append("# TYPE ").Append(Name).Append(' ').Append(Type).Append('\n');
            if (live.Length == 0)
            {
                // A counter nothing has counted yet is 0, not absent: rates and alerts on it (drops, say) have data from the start.
                text.Append(Name).Append(" 0\n");
                return;
            }

            foreach (var (labels, series) in live)
            {
                if (_buckets is null)
                {
                    Sample(text, Name, labels, null, series.Value);
                    continue;
                }

                var cumulative = 0L;
                for (var b = 0; b < _buckets.Length; b++)
                {
                    cumulative += Volatile.Read(ref series.Buckets![b]);
                    Sample(text, Name + "_bucket", labels, Number(_buckets[b]), cumulative);
                }

                var count = Volatile.Read(ref series.Count);
                Sample(text, Name + "_bucket", labels, "+Inf", count);
                Sample(text, Name + "_sum", labels, null, series.Value);
                Sample(text, Name + "_count", labels, null, count);
            }
        }

        private static void Sample(StringBuilder text, string name, LabelSet labels, string? le, double value)
        {
            text.Append(name);
            labels.WriteTo(text, le);
            text.Append(' ').Append(Number(value)).Append('\n');
        }

        private static double[] Buckets(Instrument instrument) => instrument switch
        {
            Histogram<double> { Advice.HistogramBucketBoundaries: { } bounds } => [.. bounds],
            Histogram<int> { Advice.HistogramBucketBoundaries: { } bounds } => [.. bounds.Select(b => (double)b)],
            Histogram<long> { Advice.HistogramBucketBoundaries: { } bounds } => [.. bounds.Select(b => (double)b)],
            _ => DefaultBuckets,
        };

        /// <summary><c>rti.inference</c> + <c>requests_total</c> -> <c>rti_inference_requests_total</c>; framework names as OpenTelemetry's Prometheus exporter writes them.</summary>
        private static string PrometheusName(Instrument instrument, string type)
        {
            var meter = instrument.Meter.Name.StartsWith(RequestMetrics.MeterName, StringComparison.Ordinal) ? instrument.Meter.Name + "." : "";
            var name = Sanitize(meter + instrument.Name);
            var unit = instrument.Unit switch
            {
                "s" => "_seconds",
                "By" => "_bytes",
                _ => "",
            };
            if (type == "counter" && name.EndsWith("_total", StringComparison.Ordinal))
            {
                name = name[..^"_total".Length];
            }

            if (unit.Length > 0 && !name.EndsWith(unit, StringComparison.Ordinal))
            {
                name += unit;
            }

            return type == "counter" ? name + "_total" : name;
        }

        private static string Sanitize(string name)
        {
            var chars = name.ToCharArray();
            for (var i = 0; i < chars.Length; i++)
            {
                if (!(char.IsAsciiLetterOrDigit(chars[i]) || chars[i] == '_'))
                {
                    chars[i] = '_';
                }
            }

            return new string(chars);
        }
    }

    /// <summary>One series' value: a counter's or gauge's, or a histogram's sum with its bucket counts.</summary>
    private sealed class Series(double[]? buckets)
    {
        public readonly long[]? Buckets = buckets is null ? null : new long[buckets.Length];
        public long Count;
        public long Observation;
        private double _value;

        public double Value => Volatile.Read(ref _value);

        public void Add(double value)
        {
            double seen, next;
            do
            {
                seen = Volatile.Read(ref _value);
                next = seen + value;
            }
            while (Interlocked.CompareExchange(ref _value, next, seen) != seen);
        }

        public void Set(double value, long observation)
        {
            Volatile.Write(ref _value, value);
            Volatile.Write(ref Observation, observation);
        }

        public void Observe(double value, double[] bounds)
        {
            var bucket = Array.BinarySearch(bounds, value);
            if (bucket < 0)
            {
                bucket = ~bucket;
            }

            if (bucket < bounds.Length)
            {
                Interlocked.Increment(ref Buckets![bucket]);
            }

            Interlocked.Increment(ref Count);
            Add(value);
        }
    }

    /// <summary>A series' labels, sorted by name, as they were first recorded.</summary>
    private sealed class LabelSet(KeyValuePair<string, object?>[] tags)
    {
        public KeyValuePair<string, object?>[] Tags { get; } = tags;

        public void WriteTo(StringBuilder text, string? le)
        {
            if (Tags.Length == 0 && le is null)
            {
                return;
            }

            text.Append('{');
            var first = true;
            foreach (var (key, value) in Tags)
            {
                if (value is null)
                {
                    continue;
                }

                text.Append(first ? "" : ",").Append(key.Replace('.', '_').Replace('-', '_')).Append("=\"")
                    .Append(Escape(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "", quote: true)).Append('"');
                first = false;
            }

            if (le is not null)
            {
                text.Append(first ? "" : ",").Append("le=\"").Append(le).Append('"');
            }

            text.Append('}');
        }

        public override string ToString()
        {
            var text = new StringBuilder();
            WriteTo(text, null);
            return text.ToString();
        }
    }

    /// <summary>
    /// Label sets compared by name and value, in any order; a measurement's tags (a span) find their
    /// series without being copied, and are copied once, sorted, when the series is created.
    /// </summary>
    private sealed class LabelSetComparer : IEqualityComparer<LabelSet>, IAlternateEqualityComparer<ReadOnlySpan<KeyValuePair<string, object?>>, LabelSet>
    {
        public static readonly LabelSetComparer Instance = new();

        public bool Equals(LabelSet? x, LabelSet? y) => x is not null && y is not null && Equals(x.Tags, y);

        public int GetHashCode(LabelSet obj) => GetHashCode(obj.Tags);

        public bool Equals(ReadOnlySpan<KeyValuePair<string, object?>> alternate, LabelSet other)
        {
            if (alternate.Length != other.Tags.Length)
            {
                return false;
            }

            foreach (var (key, value) in alternate)
            {
                var found = false;
                foreach (var (otherKey, otherValue) in other.Tags)
                {
                    if (string.Equals(key, otherKey, StringComparison.Ordinal))
                    {
                        found = Equals(value, otherValue);
                        break;
                    }
                }

                if (!found)
                {
                    return false;
                }
            }

            return true;
        }

        // Order-free, so the same labels recorded in another order find the same series.
        public int GetHashCode(ReadOnlySpan<KeyValuePair<string, object?>> alternate)
        {
            var hash = 0;
            foreach (var (key, value) in alternate)
            {
                hash ^= HashCode.Combine(key, value);
            }

            return hash;
        }

        public LabelSet Create(ReadOnlySpan<KeyValuePair<string, object?>> alternate)
        {
            var tags = alternate.ToArray();
            Array.Sort(tags, (a, b) => string.CompareOrdinal(a.Key, b.Key));
            return new LabelSet(tags);
        }
    }

    private static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : value.ToString(CultureInfo.InvariantCulture);

    private static string Escape(string text, bool quote)
    {
        var escaped = text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
        return quote ? escaped.Replace("\"", "\\\"", StringComparison.Ordinal) : escaped;
    }
}
