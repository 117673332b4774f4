using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Monitoring;

namespace RealTimeInference.Inference.Caching;

public sealed class PredictionCacheOptions
{
    public const string Section = "Inference:Cache";

    /// <summary>Off by default: live sensor values rarely repeat exactly, and a hit must never hide a model change.</summary>
    public bool Enabled { get; set; }

    /// <summary>Most entries kept; the least recently used goes first.</summary>
    public int Capacity { get; set; } = 100_000;
}

/// <summary>
/// Bounded LRU of scores keyed by model, version and the exact feature values (bit for bit), so a
/// new model version never answers from an old one's entries.
/// </summary>
public sealed class PredictionCache(IOptions<PredictionCacheOptions> options, InferenceMetrics metrics)
{
    private readonly PredictionCacheOptions _options = options.Value;
    private readonly Dictionary<Key, LinkedListNode<(Key Key, float Score)>> _entries = [];
    private readonly LinkedList<(Key Key, float Score)> _recency = new();
    private readonly Lock _lock = new();

    public bool Enabled => _options.Enabled;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public bool TryGet(string model, int version, ReadOnlySpan<float> features, out float score)
    {
        var key = new Key(model, version, features.ToArray());
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                score = node.Value.Score;
                metrics.RecordCache(model, hit: true);
                return true;
            }
        }

        score = 0;
        metrics.RecordCache(model, hit: false);
        return false;
    }

    public void Add(string model, int version, ReadOnlySpan<float> features, float score)
    {
        var key = new Key(model, version, features.ToArray());
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var existing))
            {
                _recency.Remove(existing);
            }
            else if (_entries.Count >= _options.Capacity && _recency.Last is { } oldest)
            {
                _recency.RemoveLast();
                _entries.Remove(oldest.Value.Key);
            }

            _entries[key] = _recency.AddFirst((key, score));
        }
    }

    /// <summary>Drops every entry of a model, e.g. when its version changes.</summary>
    public void Clear(string model)
    {
        lock (_lock)
        {
            for (var node = _recency.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.Key.Model == model)
                {
                    _recency.Remove(node);
                    _entries.Remove(node.Value.Key);
                }

                node = next;
            }
        }
    }

    private readonly struct Key(string model, int version, float[] features) : IEquatable<Key>
    {
        public string Model { get; } = model;

        public int Version { get; } = version;

        public float[] Features { get; } = features;

        public bool Equals(Key other) =>
            Model == other.Model
            && Version == other.Version
            && MemoryMarshal.AsBytes(Features.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(other.Features.AsSpan()));

        public override bool Equals([NotNullWhen(true)] object? obj) => obj is Key other && Equals(other);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            hash.Add(Model);
            hash.Add(Version);
            hash.AddBytes(MemoryMarshal.AsBytes(Features.AsSpan()));
            return hash.ToHashCode();
        }
    }
}
