namespace RealTimeInference.LoadTest.Reporting;

/// <summary>Resident set size of the server process over a period, in MiB.</summary>
internal sealed record RssSummary(double StartMb, double MaxMb, double EndMb, int Samples);
