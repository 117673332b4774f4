namespace RealTimeInference.Inference.Batching;

/// <summary>
/// A model's recent time per row, to predict waits and Retry-After: the ratio of exponential
/// averages of run time and rows per run, so one slow small run (a GC pause, the first JIT) moves
/// it little. Waits are predicted only once enough runs were seen for the figure to mean something.
/// Written by the dispatch loop only; read from any thread.
/// </summary>
internal sealed class RunCost
{
    public const int RunsBeforePredicting = 16;

    private const double Weight = 0.1;

    private double _averageSeconds;
    private double _averageRows;
    private double _secondsPerRow;
    private int _runs;

    /// <summary>Whether enough runs were seen to predict a wait.</summary>
    public bool IsKnown => Volatile.Read(ref _runs) >= RunsBeforePredicting;

    public void Observe(int rows, TimeSpan compute)
    {
        var first = _runs == 0;
        _averageSeconds = first ? compute.TotalSeconds : ((1 - Weight) * _averageSeconds) + (Weight * compute.TotalSeconds);
        _averageRows = first ? rows : ((1 - Weight) * _averageRows) + (Weight * rows);
        Volatile.Write(ref _secondsPerRow, _averageSeconds / _averageRows);
        Volatile.Write(ref _runs, Math.Min(_runs + 1, RunsBeforePredicting));
    }

    /// <summary>How long <paramref name="rows"/> rows take at the recent speed (zero before the first run).</summary>
    public TimeSpan Predict(long rows) => TimeSpan.FromSeconds(rows * Volatile.Read(ref _secondsPerRow));
}
