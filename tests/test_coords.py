import torch
import torch.nn.functional as F

from clearzoom.coords import make_cell, make_coord, nearest_index, pixel_centers


def test_pixel_centres_follow_the_convention():
    assert pixel_centers(4).tolist() == [-0.75, -0.25, 0.25, 0.75]
    c = make_coord((2, 4), flatten=False)
    assert c.shape == (2, 4, 2)
    assert c[0, 0].tolist() == [-0.5, -0.75]  # (y, x)
    assert c[1, 3].tolist() == [0.5, 0.75]
    assert torch.equal(make_cell((97, 131), 5)[3], torch.tensor([2 / 97, 2 / 131]))


def test_window_equals_crop_of_full_grid():
    full = make_coord((37, 53), flatten=False)
    win = make_coord((37, 53), window=(5, 7, 11, 13), flatten=False)
    assert torch.equal(win, full[5:16, 7:20])


def test_nearest_index_is_grid_sample_nearest():
    torch.manual_seed(0)
    for n in (1, 5, 48, 97):
        coord = torch.rand(2000) * 2 - 1
        coord[:4] = torch.tensor([-1.0, 1.0, 0.0, -1 + 1 / n])
        grid = torch.arange(n, dtype=torch.float32).view(1, 1, 1, n)
        g = torch.stack([coord, torch.zeros_like(coord)], -1).view(1, 1, -1, 2)
        expected = F.grid_sample(grid, g, mode="nearest", align_corners=False).view(-1)
        inside = coord.abs() < 1 - 1e-6
        assert torch.equal(nearest_index(coord, n)[inside].float(), expected[inside])
