"""The seed article's Keras stock script (shared/seeds/004), transcribed to run offline on a CSV.

It is the other side of `bench/whole_run.py`: three stacked SimpleRNN(20) layers, 100 timesteps, an
80/20 chronological split of the series, min-max scaling fitted on the training part, Adam and MSE,
`model.fit(..., validation_data=(X_test, y_test))`, then `predict` on the test windows and the RMSE in
price units — the article's steps in the article's order. What differs from the article: the prices
come from a CSV (its last column) instead of `pandas_datareader` (no network here), the scaler is the
two lines of min-max that `sklearn.preprocessing.MinMaxScaler` computes, and no plot is drawn.

It runs in a virtualenv of its own with TensorFlow (never the project's):

    python -m venv bench/.keras-venv && bench/.keras-venv/bin/pip install tensorflow-cpu==2.21.0 pandas
    bench/.keras-venv/bin/python bench/keras_stock.py prices.csv --epochs 3
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")     # the article's output, not TensorFlow's start-up log

import numpy as np
import pandas as pd


def create_dataset(dataset, time_step=1):
    """The article's windowing: X = dataset[i:i+T], y = dataset[i+T], for i < len − T − 1."""
    data_X, data_Y = [], []
    for i in range(len(dataset) - time_step - 1):
        data_X.append(dataset[i:(i + time_step), 0])
        data_Y.append(dataset[i + time_step, 0])
    return np.array(data_X), np.array(data_Y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", help="a CSV whose last column holds the closing prices, oldest first")
    ap.add_argument("--epochs", type=int, default=80, help="the article trains 80 (default)")
    ap.add_argument("--timesteps", type=int, default=100)
    args = ap.parse_args()

    from keras.layers import Dense, Input, SimpleRNN
    from keras.models import Sequential

    df = pd.read_csv(args.csv).iloc[:, -1]
    last_index = int(len(df) * 0.8)
    train = df[:last_index].values.reshape(-1, 1)
    test = df[last_index:].values.reshape(-1, 1)

    # MinMaxScaler: x' = (x − min_train) / (max_train − min_train)
    lo, hi = train.min(axis=0), train.max(axis=0)
    train, test = (train - lo) / (hi - lo), (test - lo) / (hi - lo)

    X_train, y_train = create_dataset(train, args.timesteps)
    X_test, y_test = create_dataset(test, args.timesteps)
    X_train = X_train.reshape(X_train.shape[0], X_train.shape[1], 1)
    X_test = X_test.reshape(X_test.shape[0], X_test.shape[1], 1)

    model = Sequential([Input(shape=(None, 1)),
                        SimpleRNN(20, return_sequences=True),
                        SimpleRNN(20, return_sequences=True),
                        SimpleRNN(20),
                        Dense(1)])
    model.compile(loss="mean_squared_error", optimizer="adam")
    model.fit(X_train, y_train, validation_data=(X_test, y_test), epochs=args.epochs, verbose=2)

    test_predict = model.predict(X_test, verbose=0) * (hi - lo) + lo        # scaler.inverse_transform
    y_true = y_test.reshape(-1, 1) * (hi - lo) + lo
    rmse = float(np.sqrt(np.mean((y_true - test_predict) ** 2)))
    print(f"Test RMSE {rmse:.1f} ({len(X_train)} training windows, {len(X_test)} test windows)")


if __name__ == "__main__":
    main()
