// A small canvas API on Image for the pictures apps write: pixels, lines at any angle, rectangles,
// text (the built-in font), pasting an image with scaling, a captioned grid of images (sample grids:
// "predicted / true" coloured green or red) and labelled boxes (detections).
// Coordinates are (x, y) = (column, row) with the origin at the top-left; everything clips at the
// image border, so any coordinates are safe. Colours with alpha < 255 blend over what is there.
// Leaves out: anti-aliasing, circles, polygon fills and sub-pixel positions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "geometry/box.h"
#include "image/font.h"
#include "image/image.h"

namespace iris {

// Sets one pixel (grey images take the colour's luma); outside the image it does nothing.
void set_pixel(Image& image, int x, int y, Color color);
// A straight line from (x0, y0) to (x1, y1), both ends included (Bresenham); thickness >= 1
// widens it into a square brush of that side.
void draw_line(Image& image, int x0, int y0, int x1, int y1, Color color, int thickness = 1);
// The outline of the rectangle with top-left (x, y) and the given size, `thickness` pixels
// wide on the inside of the rectangle.
void draw_rect(Image& image, int x, int y, int width, int height, Color color, int thickness = 1);
void fill_rect(Image& image, int x, int y, int width, int height, Color color);
// Text with its top-left at (x, y); see font.h.
inline void draw_text(Image& image, int x, int y, const std::string& text, Color color, int scale = 1) {
  font::draw_text(image, x, y, text, color, scale);
}
// Text on a filled background box with `padding` pixels around it (labels on busy pictures).
void draw_label(Image& image, int x, int y, const std::string& text, Color text_color, Color background,
                int scale = 1, int padding = 2);

// Copies `source` into `target` with its top-left at (x, y), scaled to width x height (-1 keeps
// the source size; nearest-neighbour when enlarging by a whole factor, bilinear otherwise).
// Channels convert (grey pastes as grey into RGB); source alpha blends when present.
void paste_image(Image& target, const Image& source, int x, int y, int width = -1, int height = -1);

// ---- sample grids ------------------------------------------------------------------------
struct GridCell {
  Image image;
  std::string caption;                 // drawn under the image; may hold '\n' for several lines
  Color caption_color = colors::black;
};

struct GridOptions {
  int columns = 0;        // 0: about square (ceil(sqrt(cells)))
  int cell_width = 0;     // pixels per image; 0: the widest image, enlarged to at least 64
  int cell_height = 0;    // 0: keeps each image's aspect ratio from cell_width
  int padding = 6;        // between cells and around the border
  int text_scale = 1;
  std::string title;      // drawn above the grid when not empty
  Color background = colors::white;
};

// Lays cells out row by row, each image scaled into its cell and its caption centred under it
// (captions wider than the cell are cut with "..").
Image make_image_grid(const std::vector<GridCell>& cells, const GridOptions& options = {});

// Green for a right prediction, red for a wrong one ("shirt / shirt", "bag / coat").
inline GridCell prediction_cell(Image image, const std::string& predicted, const std::string& truth) {
  bool right = predicted == truth;
  return GridCell{std::move(image), predicted + " / " + truth, right ? colors::green : colors::red};
}

// ---- boxes -------------------------------------------------------------------------------
struct LabeledBox {
  Box box;                    // pixels, x1/y1 exclusive (geometry/box.h); corners swapped if reversed
  std::string label;          // e.g. "cat 0.93"; empty: no label
  Color color = colors::red;
};

// Draws each box's outline just inside its pixels [x0, x1) x [y0, y1) (corners rounded to the
// nearest pixel; a box under a pixel wide still gets a one-pixel outline) and, above its top-left
// corner (inside when there is no room), its label in white or black on the box colour.
void draw_boxes(Image& image, const std::vector<LabeledBox>& boxes, int thickness = 2, int text_scale = 1);

}  // namespace iris
