using System.Buffers;

namespace RealTimeInference.Server.Predictions;

/// <summary>A rented float buffer, returned to the pool when the response is done with it.</summary>
internal sealed class PooledFloats(int length) : IDisposable
{
    private float[]? _array = ArrayPool<float>.Shared.Rent(length);

    public Memory<float> Memory => _array.AsMemory(0, length);

    public Memory<float> Slice(int start, int count) => _array.AsMemory(start, count);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _array, null) is { } array)
        {
            ArrayPool<float>.Shared.Return(array);
        }
    }
}
